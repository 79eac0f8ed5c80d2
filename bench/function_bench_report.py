#!/usr/bin/python3
"""The table of bench/function_bench.sh, from the JSON its steps wrote into one directory:

    ours_SIZE.json   sparkify_bench_function (OpenCV DNN), one per size
    ort_SIZE.json    bench/function_bench_ort.mjs (onnxruntime-node), one per size
    function.json    the `sparkify function` cold start / warm requests (the script's own)
    load.json        the machine's load before each phase (the script's own)

    function_bench_report.py DIR
Times in seconds, "median / min" over every run; ratios are ours / onnxruntime (> 1: slower).
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


def main():
    d = sys.argv[1]
    sizes = sorted({int(f.split("_")[1].split(".")[0]) for f in os.listdir(d)
                    if f.startswith("ours_") and f.endswith(".json")}, reverse=True)
    ours = {s: load(os.path.join(d, "ours_%d.json" % s)) for s in sizes}
    ort = {s: load(os.path.join(d, "ort_%d.json" % s)) for s in sizes}
    fn = load(os.path.join(d, "function.json"))
    loads = load(os.path.join(d, "load.json")) or []
    any_ours = next(v for v in ours.values() if v)
    any_ort = next((v for v in ort.values() if v), None)
    names = [im["name"] for im in any_ours["images"]]
    runs = len(any_ours["images"][0]["runs"])
    out = []
    p = out.append

    p("engines: OpenCV %s DNN (C++, DNN_BACKEND_OPENCV, CPU) vs onnxruntime-node %s (%s, CPU EP, "
      "graph opt 'all'); %d threads each; same fp32 ONNX, same input blobs"
      % (any_ours["opencv"], any_ort["ort"] if any_ort else "?",
         any_ort["node"] if any_ort else "?", any_ours["threads"]))
    p("times in seconds, median / min over %d runs per image (after one warm-up forward)" % runs)
    p("")
    p("1. Forward pass only")
    head = "%-17s %-9s" % ("image", "WxH")
    for s in sizes:
        head += " | %-13s %-13s %-5s" % ("ours %d" % s, "ort %d" % s, "ratio")
    p(head)
    p("-" * len(head))
    all_ours = {s: [] for s in sizes}
    all_ort = {s: [] for s in sizes}
    for i, name in enumerate(names):
        im0 = any_ours["images"][i]
        line = "%-17s %-9s" % (name, "%dx%d" % (im0["width"], im0["height"]))
        for s in sizes:
            o = [r["forward"] for r in ours[s]["images"][i]["runs"]] if ours[s] else []
            r_ = [r["forward"] for r in ort[s]["images"][i]["runs"]] if ort[s] else []
            all_ours[s] += o
            all_ort[s] += r_
            line += " | %-13s %-13s %-5s" % (fmt(mm(o)), fmt(mm(r_)), ratio(mm(o), mm(r_)))
        p(line)
    line = "%-27s" % "all images"
    for s in sizes:
        line += " | %-13s %-13s %-5s" % (fmt(mm(all_ours[s])), fmt(mm(all_ort[s])),
                                          ratio(mm(all_ours[s]), mm(all_ort[s])))
    p(line)
    diffs = ["%d: %s" % (s, "%.1e" % max(im.get("max_abs_diff_vs_opencv") or 0
                                          for im in ort[s]["images"]))
             for s in sizes if ort[s]]
    p("max |ort - opencv| on the raw output: " + ", ".join(diffs))
    p("")

    p("2. Whole cut-out, ours (read + decode + resize/normalise + forward + mask to full "
      "size + alpha/PNG encode)")
    steps = ["read", "decode", "blob", "forward", "mask", "cutout", "whole"]
    for s in sizes:
        if not ours[s]:
            continue
        head = "%-17s %5s" % ("image @%d" % s, "fg") + "".join(" %-13s" % k for k in steps)
        p(head)
        for im in ours[s]["images"]:
            line = "%-17s %5.2f" % (im["name"], im["foreground_share"])
            for k in steps:
                digits = 2 if k in ("forward", "whole") else 3
                line += " %-13s" % fmt(mm([r[k] for r in im["runs"]]), digits)
            p(line)
        everything = [r for im in ours[s]["images"] for r in im["runs"]]
        whole = mm([r["whole"] for r in everything])
        fwd = mm([r["forward"] for r in everything])
        p("%-23s whole %s, of which forward %.0f%% (medians)"
          % ("all @%d" % s, fmt(whole), 100 * fwd[0] / whole[0]))
    p("")

    p("3. Model load, first forward, peak RSS (one process per engine and size)")
    head = "%-22s %-10s %-14s %-15s %-15s" % ("engine @size", "load s", "1st forward s",
                                              "VmHWM load MB", "VmHWM peak MB")
    p(head)
    p("-" * len(head))
    for s in sizes:
        for label, x in (("ours (OpenCV)", ours[s]), ("onnxruntime", ort[s])):
            if not x:
                continue
            p("%-22s %-10.2f %-14.2f %-15.0f %-15.0f" % (
                "%s @%d" % (label, s), x["load_s"], x["first_forward_s"], x["vmhwm_load_mb"],
                x["vmhwm_mb"]))
    p("  (ours: load = OpenCvSegmenter::Load: read 176 MB + sha256 + ONNX import; ort: "
      "InferenceSession.create, incl. graph optimisation; node itself ~%.0f MB)"
      % (any_ort["maxrss_before_load_mb"] if any_ort else 0))
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
                p("%s per request (%d requests, one per image, new cut-out each): %s s "
                  "(handler %s s)" % (s_label, len(fn[key]), fmt(mm([w["wall"] for w in fn[key]])),
                                      fmt(mm([w["handler"] for w in fn[key]]))))
        if fn.get("first_768_s") is not None:
            p("first request @%s (loads a second net for that size): %.2f s"
              % (fn.get("second_size"), fn["first_768_s"]))
        if fn.get("cached_s") is not None:
            p("repeat request, cut-out already in the bucket (HEAD hit, no model): %.3f s"
              % fn["cached_s"])
        p("peak RSS (VmHWM): worker %.0f MB after the @%d requests, %.0f MB at the end (both nets loaded); "
          "emulator parent %.0f MB; REPORT's Max Memory Used: %s MB"
          % (fn["worker_hwm_first_mb"], fn["size"], fn["worker_hwm_mb"], fn["parent_hwm_mb"],
             fn.get("report_max_mb", "?")))
        p("")

    p("5. Ratio ours / onnxruntime, forward median over all images: " +
      ", ".join("%d: %s" % (s, ratio(mm(all_ours[s]), mm(all_ort[s]))) for s in sizes))
    prof = load(os.path.join(d, "profile.json"))
    if prof:
        p("")
        lay = prof.get("layers", {})
        p("6. Profile of one forward @%d (ours, %d threads): %.2f s wall; OpenCV per-layer "
          "timings (Net::getPerfProfile, %d layers, sum %.0f ms), by layer type:"
          % (prof["size"], prof["threads"], prof["profiled_forward_s"], lay.get("layer_count", 0),
             lay.get("total_ms", 0)))
        total = sum(t["ms"] for t in lay.get("by_type", [])) or 1
        for t in lay.get("by_type", [])[:8]:
            p("  %-14s %4d layers %8.0f ms %5.1f%%" % (t["type"], t["count"], t["ms"],
                                                      100 * t["ms"] / total))
        p("  slowest layers: " + "; ".join("%s %.0f ms" % (x["layer"], x["ms"])
                                           for x in lay.get("top_layers", [])[:6]))
        perf_txt = os.path.join(d, "perf.txt")
        if os.path.exists(perf_txt):
            p("  perf record -e cpu-clock -F 1999 (both threads, that forward only), self time by "
              "function (stripped libraries: function = .eh_frame range, with its hottest "
              "instruction):")
            for share, what in perf_functions(perf_txt, os.path.join(d, "dsos.txt"))[:10]:
                p("  %5.1f%%  %s" % (share, what[:150]))
    if loads:
        p("load per phase: 1-min avg, CPU busy before it (after waiting, if busy, up to PHASE_WAIT s), "
          "and the share of both cores OTHERS used during the phase:")
        p("  " + "; ".join("%s %.2f, %d%% (waited %d s), others %d%%"
                           % (l["phase"], l["loadavg"], l["busy"], l["waited"], l["others"])
                           for l in loads))
    print("\n".join(out))


if __name__ == "__main__":
    main()
