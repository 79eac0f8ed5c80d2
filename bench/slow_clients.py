#!/usr/bin/env python3
"""Holds N slow HTTP clients against HOST:PORT until killed (for bench/slow_clients_bench.sh).

Half are slowloris clients: they send a request head one byte every INTERVAL seconds and
never finish it; the other half connect and send nothing. A connection the server closes is
opened again at once, so the pressure stays at N. The clients are spread over SOURCES local
addresses (127.0.0.2, 127.0.0.3, ...), like N clients on a few hosts behind NAT.

Every STATUS seconds it writes one line to stdout: open connections, reconnects so far.

  slow_clients.py PORT [--count 600] [--sources 10] [--interval 2]
"""
import argparse
import errno
import selectors
import socket
import sys
import time

HEAD = b"GET /bench/get-4k HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nX-Pad: " + b"a" * 4000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--sources", type=int, default=10)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--status", type=float, default=1.0)
    args = ap.parse_args()

    sel = selectors.DefaultSelector()
    clients = {}  # fd -> [socket, slot, bytes sent, next send time]
    reconnects = 0

    def open_one(slot):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.%d" % (2 + slot % args.sources), 0))
        s.setblocking(False)
        try:
            s.connect((args.host, args.port))
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno not in (errno.EINPROGRESS,):
                s.close()
                return False
        # Stagger the first bytes so the load is a steady trickle, not a wave.
        clients[s.fileno()] = [s, slot, 0, time.monotonic() + (slot % 50) * args.interval / 50]
        sel.register(s, selectors.EVENT_READ)
        return True

    def drop(fd):
        s = clients.pop(fd)[0]
        sel.unregister(s)
        s.close()

    for slot in range(args.count):
        open_one(slot)
    next_status = time.monotonic()
    while True:
        now = time.monotonic()
        for key, _ in sel.select(timeout=0.05):
            fd = key.fd
            try:
                data = key.fileobj.recv(4096)
            except OSError:
                data = b""
            if not data:  # the server closed it (or answered and closed): come back
                slot = clients[fd][1]
                drop(fd)
                reconnects += 1
                open_one(slot)
        for fd, c in list(clients.items()):
            s, slot, sent, due = c
            if slot % 2 == 1 or now < due:
                continue  # the silent half, or not yet
            try:
                s.send(HEAD[sent % len(HEAD):sent % len(HEAD) + 1])
                c[2] += 1
            except OSError:
                pass  # not connected yet, or reset: the read side notices
            c[3] = now + args.interval
        if now >= next_status:
            print("open %d reconnects %d" % (len(clients), reconnects), flush=True)
            next_status = now + args.status


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
