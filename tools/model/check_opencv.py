#!/usr/bin/python3
"""Runs a prepared model (its manifest.json) with OpenCV's DNN module on real photos: checks
that it loads, times the forward pass at each size and writes the masks as PNGs.

It follows the manifest exactly as the C++ runtime should: stretch the whole image to
size x size, channel order, value = (pixel * scale - mean[c]) / std[c], NCHW; saliency output
normalised by min/max, then resized back to the photo's full resolution.

Usage: check_opencv.py MANIFEST IMAGE... [--sizes 512,768,1024] [--repeat 3] [--threads 2]
                       [--out DIR] [--dump-input DIR]
Needs Debian's python3-opencv (and python3-numpy).
"""

import argparse
import json
import os
import sys
import time

import cv2
import numpy as np


def preprocess(bgr, size, spec):
    img = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_LINEAR)
    if spec["channel_order"] == "RGB":
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    x = img.astype(np.float32) * np.float32(spec["scale"])
    x = (x - np.array(spec["mean"], np.float32)) / np.array(spec["std"], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])  # HWC -> 1CHW


def to_mask(out, spec, width, height):
    if spec["kind"] != "saliency":
        raise SystemExit(f"check_opencv: output kind {spec['kind']} not handled here")
    m = out.reshape(out.shape[-2:]).astype(np.float32)
    if spec.get("activation") == "sigmoid":
        m = 1 / (1 + np.exp(-m))
    if spec.get("normalise") == "minmax":
        lo, hi = float(m.min()), float(m.max())
        m = (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)
    return cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("manifest")
    ap.add_argument("images", nargs="+")
    ap.add_argument("--sizes", default="512,768,1024")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write MASK PNGs (and cut-outs) here")
    ap.add_argument("--dump-input", help="write each input blob as NAME_SIZE.f32 (raw NCHW)")
    args = ap.parse_args()

    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    model = os.path.join(os.path.dirname(os.path.abspath(args.manifest)), manifest["file"])
    sizes = [int(s) for s in args.sizes.split(",")]
    multiple = manifest["input"]["size_multiple"]
    bad = [s for s in sizes if s % multiple]
    if bad:
        raise SystemExit(f"check_opencv: sizes {bad} are not multiples of {multiple}")

    cv2.setNumThreads(args.threads)
    t = time.monotonic()
    net = cv2.dnn.readNetFromONNX(model)
    print(f"opencv {cv2.__version__}: loaded {manifest['name']} in {time.monotonic() - t:.2f} s")

    for path in args.images:
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"check_opencv: cannot decode {path}")
        h, w = bgr.shape[:2]
        stem = os.path.splitext(os.path.basename(path))[0]
        for size in sizes:
            blob = preprocess(bgr, size, manifest["input"])
            if args.dump_input:
                os.makedirs(args.dump_input, exist_ok=True)
                blob.tofile(os.path.join(args.dump_input, f"{stem}_{size}.f32"))
            times = []
            for _ in range(args.repeat):
                net.setInput(blob)
                t = time.monotonic()
                out = net.forward()
                times.append(time.monotonic() - t)
            mask = to_mask(out, manifest["output"], w, h)
            share = float((mask >= 0.5).mean())
            print(f"{stem} {w}x{h} @{size}: out {tuple(out.shape)} raw [{out.min():.4g}, "
                  f"{out.max():.4g}] forward min {min(times):.2f} s "
                  f"(all {', '.join(f'{x:.2f}' for x in times)}) foreground {share:.1%}")
            if args.out:
                os.makedirs(args.out, exist_ok=True)
                alpha = (mask * 255 + 0.5).astype(np.uint8)
                cv2.imwrite(os.path.join(args.out, f"{stem}_{size}_mask.png"), alpha)
                cv2.imwrite(os.path.join(args.out, f"{stem}_{size}_cutout.png"),
                            np.dstack([bgr, alpha]))
                if args.dump_input:
                    out.astype(np.float32).tofile(
                        os.path.join(args.dump_input, f"{stem}_{size}.opencv.f32"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
