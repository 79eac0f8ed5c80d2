#!/usr/bin/python3
"""The table of bench/function_bench.sh, from the JSON its steps wrote into one directory:

    ours_SIZE_MODE.json  sparkify_bench_function (our engine), per size and mode (fp32, fast,
                         bf16, fp32-avx2)
    ort_SIZE.json        bench/function_bench_ort.mjs (onnxruntime-node), one per size
    function.json        the `sparkify function` cold start / warm requests (the script's own)
    profile.json         one profiled forward (perf), perf.txt and dsos.txt beside it
    load.json            the machine's load before each phase (the script's own)

    function_bench_report.py DIR
Times in seconds, "median / min" over every run; ratios are ours / onnxruntime's forward
(< 1: faster). Ends with the issue's targets, PASS or FAIL.
"""
import json
import os
import re
import statistics
import subprocess
import sys


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def mm(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values)


def fmt(pair, digits=2):
    if pair is None:
        return "-"
    return "%.*f / %.*f" % (digits, pair[0], digits, pair[1])


def ratio(a, b):
    return "%.2f" % (a[0] / b[0]) if a and b and b[0] > 0 else "-"


def fde_ranges(path):
    """Function address ranges of a (stripped) shared object, from its .eh_frame."""
    try:
        text = subprocess.run(["readelf", "--debug-dump=frames", path], capture_output=True,
                              text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    ranges = []
    for m in re.finditer(r"FDE cie=\S+ pc=([0-9a-f]+)\.\.([0-9a-f]+)", text):
        ranges.append((int(m.group(1), 16), int(m.group(2), 16)))
    ranges.sort()
    return ranges


def instruction(path, addr):
    try:
        out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "--start-address=%#x" % addr,
                              "--stop-address=%#x" % (addr + 16), path], capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    for line in out.splitlines():
        if line.strip().startswith("%x:" % addr):
            return " ".join(line.split(":", 1)[1].split())
    return ""


def perf_functions(perf_txt, dsos_txt):
    """perf report lines ('  6.06%  libfoo.so  [.] 0x30c575' or '[.] symbol') -> [(share, what)]
    with the addresses of stripped objects summed per function."""
    paths = {}
    if os.path.exists(dsos_txt):
        with open(dsos_txt) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    paths[parts[0]] = parts[1]
    rows = []
    with open(perf_txt) as f:
        for line in f:
            m = re.match(r"\s*([0-9.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$", line)
            if m:
                rows.append((float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()))
    groups = {}
    cache = {}
    for share, dso, kind, sym in rows:
        key, hot = (dso, sym), None
        if re.fullmatch(r"0x[0-9a-f]+", sym) and dso in paths:
            if dso not in cache:
                cache[dso] = fde_ranges(paths[dso])
            addr = int(sym, 16)
            for lo, hi in cache[dso]:
                if lo <= addr < hi:
                    key = (dso, "function %#x..%#x (%d bytes)" % (lo, hi, hi - lo))
                    break
            hot = addr
        g = groups.setdefault(key, [0.0, None, 0.0])
        g[0] += share
        if hot is not None and share > g[2]:
            g[1], g[2] = hot, share
    out = []
    for (dso, what), (share, hot, _) in groups.items():
        label = "%s %s" % (dso, what)
        if hot is not None:
            label += ", hottest %#x: %s" % (hot, instruction(paths[dso], hot))
        out.append((share, label))
    out.sort(reverse=True)
    return out


MODES = ("fp32", "fast", "bf16", "fp32-avx2")


def main():
    d = sys.argv[1]
    sizes = sorted({int(f.split("_")[1]) for f in os.listdir(d)
                    if f.startswith("ours_") and f.endswith(".json")}, reverse=True)
    ours = {(s, m): load(os.path.join(d, "ours_%d_%s.json" % (s, m))) for s in sizes for m in MODES}
    ort = {s: load(os.path.join(d, "ort_%d.json" % s)) for s in sizes}
    fn = load(os.path.join(d, "function.json"))
    loads = load(os.path.join(d, "load.json")) or []
    any_ours = next(v for v in ours.values() if v)
    any_ort = next((v for v in ort.values() if v), None)
    modes = [m for m in MODES if any(ours[(s, m)] for s in sizes)]
    names = [im["name"] for im in any_ours["images"]]
    runs = len(any_ours["images"][0]["runs"])
    out = []
    p = out.append

    def runs_of(x, key):
        return [r[key] for im in x["images"] for r in im["runs"]] if x else []

    p("engines: ours = src/nn on oneDNN (C++; isa %s) vs onnxruntime-node %s (%s, CPU EP, graph "
      "opt 'all', its own kernels for all this CPU has, never capped); %d threads each; the "
      "same IS-Net graph "
      "(ours: the sparkify-graph exported from the fp32 ONNX onnxruntime runs) and the same "
      "input blobs" % (any_ours.get("isa", "?"), any_ort["ort"] if any_ort else "?",
                       any_ort["node"] if any_ort else "?", any_ours["threads"]))
    p("times in seconds, median / min over %d runs per image (after one warm-up forward)" % runs)
    p("")
    p("1. Forward pass, all images (%s)" % ", ".join(names))
    head = "%-6s %-15s" % ("size", "onnxruntime")
    for m in modes:
        head += " | %-13s %-5s" % ("ours " + m, "ratio")
    p(head)
    p("-" * len(head))
    for s in sizes:
        o = mm(runs_of(ort[s], "forward"))
        line = "%-6d %-15s" % (s, fmt(o, 3))
        for m in modes:
            x = mm(runs_of(ours[(s, m)], "forward"))
            line += " | %-13s %-5s" % (fmt(x, 3), ratio(x, o))
        p(line)
    diffs = ["%d: %s" % (s, "%.1e" % max(im.get("max_abs_diff_vs_ours") or 0
                                          for im in ort[s]["images"]))
             for s in sizes if ort[s]]
    p("max |onnxruntime - ours fp32| on the raw output: " + ", ".join(diffs))
    p("")

    p("2. Whole cut-out, ours (read + decode + resize/normalise + forward + mask to full "
      "size + alpha/PNG encode), against onnxruntime's bare forward")
    steps = ["read", "decode", "blob", "forward", "mask", "cutout", "whole"]
    for s in sizes:
        for m in modes:
            x = ours[(s, m)]
            if not x:
                continue
            whole = mm(runs_of(x, "whole"))
            parts = ", ".join("%s %.3f" % (k, mm(runs_of(x, k))[0]) for k in steps[:-1])
            p("%-5d %-10s whole %s = %s x onnxruntime's forward (medians: %s)"
              % (s, m, fmt(whole, 3), ratio(whole, mm(runs_of(ort[s], "forward"))), parts))
    p("")

    p("3. Model load, first forward, memory (one process per engine, size and mode)")
    head = "%-24s %-8s %-10s %-12s %-10s %-10s %-10s" % (
        "engine @size", "load s", "1st fwd s", "weights", "arena+scr", "VmHWM load", "VmHWM peak")
    p(head)
    p("-" * len(head))
    for s in sizes:
        rows = [("ours " + m, ours[(s, m)]) for m in modes] + [("onnxruntime", ort[s])]
        for label, x in rows:
            if not x:
                continue
            p("%-24s %-8.2f %-10.2f %-12s %-10s %-10.0f %-10.0f" % (
                "%s @%d" % (label, s), x["load_s"], x["first_forward_s"],
                ("%.0f MB" % x["weights_mb"] +
                 ("+%.0f" % x["weights_in_file_mb"] if x.get("weights_in_file_mb") else ""))
                if "weights_mb" in x else "-",
                "%.0f MB" % x["arena_mb"] if "arena_mb" in x else "-",
                x["vmhwm_load_mb"], x["vmhwm_mb"]))
    p("  (ours: load = GraphSegmenter::Load: map the 88 MB graph + sha256 + weights converted "
      "and primitives built for the size; weights: converted +read in place from the "
      "file's pages; ort: InferenceSession.create, incl. graph "
      "optimisation; node itself ~%.0f MB)" % (any_ort["maxrss_before_load_mb"] if any_ort else 0))
    p("")

    if fn:
        p("4. `sparkify function` (emulator + worker process, %s, model size %d), image from "
          "the bucket (direct segment event, keys)" % (fn.get("transport", "loopback"),
                                                      fn["size"]))
        p("cold start (process start -> first cut-out written, answer received): %.2f s"
          % fn["cold_s"])
        p("  of which start -> listening (worker loaded the model): %.2f s; first invoke: %.2f s "
          "(handler %.2f s)" % (fn["ready_s"], fn["first_invoke_s"], fn["first_handler_s"]))
        for s_label, key in (("warm", "warm"), ("warm @%s" % fn.get("second_size"), "warm_768")):
            if fn.get(key):
                p("%s per request (%d requests, one per image, each through the model): %s s "
                  "(handler %s s)" % (s_label, len(fn[key]), fmt(mm([w["wall"] for w in fn[key]])),
                                      fmt(mm([w["handler"] for w in fn[key]]))))
        if fn.get("first_768_s") is not None:
            p("first request @%s (plans that size): %.2f s" % (fn.get("second_size"),
                                                              fn["first_768_s"]))
        if fn.get("cached_s") is not None:
            p("repeat request, cut-out already in the bucket (HEAD hit, no model): %.3f s"
              % fn["cached_s"])
        p("peak RSS (VmHWM): worker %.0f MB after the @%d requests, %.0f MB at the end (two "
          "sizes planned); emulator parent %.0f MB; REPORT's Max Memory Used: %s MB"
          % (fn["worker_hwm_first_mb"], fn["size"], fn["worker_hwm_mb"], fn["parent_hwm_mb"],
             fn.get("report_max_mb", "?")))
        p("")

    prof = load(os.path.join(d, "profile.json"))
    if prof:
        lay = prof.get("layers", {})
        p("5. Profile of one forward @%d (ours fp32, %d threads): %.3f s wall; the engine's "
          "%d steps (sum %.0f ms) by oneDNN implementation:"
          % (prof["size"], prof["threads"], prof["profiled_forward_s"], lay.get("step_count", 0),
             lay.get("total_ms", 0)))
        total = lay.get("total_ms") or 1
        for t in sorted(lay.get("by_impl", []), key=lambda t: -t["ms"])[:8]:
            rate = " %5.0f GFLOP/s" % (t["gflop"] / t["ms"] * 1e3) if t["gflop"] else ""
            p("  %-34s %4d steps %7.1f ms %5.1f%%%s" % (t["impl"], t["count"], t["ms"],
                                                       100 * t["ms"] / total, rate))
        p("  slowest steps: " + "; ".join("%s %.1f ms" % (x["step"], x["ms"])
                                          for x in lay.get("top_steps", [])[:5]))
        perf_txt = os.path.join(d, "perf.txt")
        if os.path.exists(perf_txt):
            p("  perf record -e cpu-clock -F 1999 (both threads, that forward only), self time by "
              "function (stripped libraries: function = .eh_frame range):")
            for share, what in perf_functions(perf_txt, os.path.join(d, "dsos.txt"))[:8]:
                p("  %5.1f%%  %s" % (share, what[:150]))
        p("")

    p("6. Targets (issue 8), same run, same CPU:")
    top = max(sizes)
    o = mm(runs_of(ort.get(top), "forward"))

    def target(name, value, limit, unit="x"):
        if value is None:
            p("  ----  %s: not measured" % name)
            return
        verdict = "PASS" if value <= limit else "FAIL"
        p("  %s  %s: %.2f%s (<= %.2f%s)" % (verdict, name, value, unit, limit, unit))

    def whole_ratio(m):
        x = ours.get((top, m))
        return mm(runs_of(x, "whole"))[0] / o[0] if x and o else None

    def fwd_ratio(m):
        x = ours.get((top, m))
        return mm(runs_of(x, "forward"))[0] / o[0] if x and o else None

    target("@%d default fp32: whole cut-out / onnxruntime forward" % top, whole_ratio("fp32"), 0.5)
    offered = load(os.path.join(d, "offered.json")) or ["fp32"]
    candidates = [(whole_ratio(m), m) for m in ("fp32", "fast", "bf16")
                  if m in offered and whole_ratio(m) is not None]
    if candidates:
        best, best_mode = min(candidates)
        target("@%d fastest mode the manifest offers (passed the quality gate: %s), %s: whole / "
               "onnxruntime forward" % (top, ", ".join(offered), best_mode), best, 0.35)
    for m in ("fast", "bf16"):
        if m not in offered and whole_ratio(m) is not None:
            p("        (%s, not offered: it fails the quality gate; whole / onnxruntime forward "
              "%.2fx)" % (m, whole_ratio(m)))
    target("@%d fp32 with oneDNN capped to AVX2: forward / onnxruntime forward (uncapped)" % top,
           fwd_ratio("fp32-avx2"), 1.0)
    if fn:
        target("function cold start (process start -> first cut-out) @%d" % fn["size"],
               fn["cold_s"], 1.5, " s")
    x = ours.get((top, "fp32"))
    if x:
        target("model load @%d" % top, x["load_s"], 0.5, " s")
        target("peak RSS of a load and the cut-outs @%d (bench process)" % top,
               x["vmhwm_mb"], 900, " MB")
    if loads:
        p("load per phase: 1-min avg, CPU busy before it (after waiting, if busy, up to PHASE_WAIT s), "
          "and the share of both cores OTHERS used during the phase:")
        p("  " + "; ".join("%s %.2f, %d%% (waited %d s), others %d%%"
                           % (l["phase"], l["loadavg"], l["busy"], l["waited"], l["others"])
                           for l in loads))
    print("\n".join(out))



if __name__ == "__main__":
    main()
