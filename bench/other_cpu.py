"""Prints the CPU clock ticks used so far by every process outside one process tree.

bench/store_bench.sh samples this before and after each measured row: the difference is the
CPU that other processes on this shared machine took while the row ran. A process counts
its own user+system time plus that of the children it has reaped, so short-lived compiler
jobs are caught through their parents. Usage: python3 other_cpu.py ROOT_PID
"""
import os
import sys


def main() -> int:
    root = int(sys.argv[1])
    stats = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        # fields[0] is state (field 3): ppid is field 4, utime..cstime are fields 14..17.
        stats[int(name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    total = 0
    for pid, (ppid, ticks) in stats.items():
        p, ours = pid, False
        while p in stats and p > 1:
            if p == root:
                ours = True
                break
            p = stats[p][0]
        if not ours:
            total += ticks
    print(total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
