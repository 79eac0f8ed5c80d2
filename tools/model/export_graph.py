#!/usr/bin/python3
"""Exports an ONNX segmentation graph into Sparkify's own graph format ("sparkify-graph/2"),
which the engine (src/nn) runs on oneDNN: the ops and their attributes as JSON, the weights as
one aligned blob, fp16 wherever that is exact (IS-Net's weights come from an fp16 model, so
all of them are), else fp32; 3x3 Conv kernels (group 1, exact in fp16, output channels a
multiple of 8) blocked by 8 output channels, the order the engine's compact Winograd layers
read them in place (so a cold start does not copy them into fresh memory).

Ops it takes (those of U^2-Net-family salient-object models):
  Conv (any kernel, stride, dilation, explicit pads, groups; a BatchNormalization right after
  it is folded into its weights and bias), Relu, Sigmoid, MaxPool (explicit pads, ceil_mode),
  Resize (mode linear with half_pixel / pytorch_half_pixel coordinates, or nearest; constant
  scales [1, 1, s, s] with an integer s >= 1), Concat on channels, Add of two same-shaped maps.
Anything else, or any attribute it would have to guess about, is an error (exit 1): a graph
is exported exactly or not at all.

File layout: b"SPKGRAPH", u32 version (1), u32 length of the JSON, the JSON (UTF-8), zero
padding to a multiple of 64, then the weights blob; every weight starts at a multiple of 64
bytes of the blob, little-endian. The JSON:
  {"format": "sparkify-graph/2", "input": {"name", "channels"}, "output": NAME,
   "weights": [{"name", "shape", "dtype": "float16"|"float32", "offset", "bytes"[, "layout"]}],
   "nodes": [{"op", "name", "inputs": [...], "output", ...attributes}],
   "stats": {...}}
Conv nodes carry "weight" and "bias" (indices into "weights"; bias -1 when absent), "kernel",
"strides", "dilations", "pads" [top, left, bottom, right] and "group"; MaxPool "kernel",
"strides", "pads", "ceil_mode"; Resize "mode" ("linear"|"nearest") and "scale"; Concat and
Add and the activations nothing more. A weight's "layout" is "oihw" when absent (row-major in
its shape) or "Oihw8o": a 4-D weight [O, I, kh, kw] (O a multiple of 8) stored as
[O/8][I][kh][kw][8]. ("sparkify-graph/1" is the same format without layouts.)

Usage: export_graph.py SRC.onnx DST.sgraph [--json]
       export_graph.py --is-current FILE.sgraph   (exit 0 if FILE is in this format, 3 if it is
                                                  an older one, 1 otherwise)
"""

import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import onnx
from onnx import helper, numpy_helper

MAGIC = b"SPKGRAPH"
VERSION = 1
ALIGN = 64
FORMAT = "sparkify-graph/2"


class ExportError(Exception):
    pass


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def text(value):
    return value.decode() if isinstance(value, bytes) else value


class Exporter:
    def __init__(self, model):
        self.graph = model.graph
        self.inits = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        self.constants = {}
        for node in self.graph.node:
            if node.op_type == "Constant":
                self.constants[node.output[0]] = numpy_helper.to_array(attr(node, "value"))
        self.weights = []
        self.blob = bytearray()
        self.nodes = []
        self.consumers = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        self.folded_bn = 0

    def const(self, name):
        if name in self.inits:
            return self.inits[name]
        return self.constants.get(name)

    def add_weight(self, name, array, blockable=False):
        """Appends a weight to the blob; `blockable` (a Conv's weight, group 1): a 3x3 kernel
        exact in fp16 with output channels a multiple of 8 is stored blocked (Oihw8o)."""
        array = np.asarray(array, dtype=np.float32)
        if not np.all(np.isfinite(array)):
            raise ExportError(f"weight {name!r} has a NaN or infinity")
        half = array.astype(np.float16)
        exact = np.array_equal(half.astype(np.float32), array)
        stored = half if exact else array
        blocked = (blockable and exact and array.ndim == 4 and array.shape[0] % 8 == 0
                   and array.shape[2:] == (3, 3))
        if blocked:  # [O/8][I][kh][kw][8]: what the engine's compact Winograd layers read
            o, i, kh, kw = array.shape
            stored = stored.reshape(o // 8, 8, i, kh, kw).transpose(0, 2, 3, 4, 1)
        data = np.ascontiguousarray(stored).astype("<f2" if exact else "<f4").tobytes()
        pad = (-len(self.blob)) % ALIGN
        self.blob += b"\0" * pad
        entry = {"name": name, "shape": list(array.shape),
                 "dtype": "float16" if exact else "float32",
                 "offset": len(self.blob), "bytes": len(data)}
        if blocked:
            entry["layout"] = "Oihw8o"
        self.weights.append(entry)
        self.blob += data
        return len(self.weights) - 1

    def only_consumer(self, name, op):
        users = self.consumers.get(name, [])
        outputs = {o.name for o in self.graph.output}
        if len(users) == 1 and users[0].op_type == op and name not in outputs:
            return users[0]
        return None

    def conv(self, node, skip):
        if attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ExportError(f"Conv {node.name!r} uses auto_pad")
        w = self.const(node.input[1])
        if w is None or w.ndim != 4:
            raise ExportError(f"Conv {node.name!r}: weights are not a constant 4-D tensor")
        b = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if len(node.input) > 2 and node.input[2] and b is None:
            raise ExportError(f"Conv {node.name!r}: bias is not a constant")
        kernel = list(attr(node, "kernel_shape", list(w.shape[2:])))
        if kernel != list(w.shape[2:]):
            raise ExportError(f"Conv {node.name!r}: kernel_shape {kernel} != weights {w.shape}")
        w = w.astype(np.float32)
        b = np.zeros(w.shape[0], np.float32) if b is None else b.astype(np.float32)
        output = node.output[0]
        bn = self.only_consumer(output, "BatchNormalization")
        if bn is not None:
            scale, shift, mean, var = (self.const(n) for n in bn.input[1:5])
            if any(x is None for x in (scale, shift, mean, var)):
                raise ExportError(f"BatchNormalization {bn.name!r}: parameters are not constants")
            eps = attr(bn, "epsilon", 1e-5)
            k = scale / np.sqrt(var + eps)
            w = w * k.reshape(-1, 1, 1, 1)
            b = (b - mean) * k + shift
            output = bn.output[0]
            skip.add(id(bn))
            self.folded_bn += 1
        has_bias = bn is not None or (len(node.input) > 2 and node.input[2])
        pads = list(attr(node, "pads", [0, 0, 0, 0]))
        group = int(attr(node, "group", 1))
        return {"weight": self.add_weight(node.input[1], w, blockable=group == 1),
                "bias": self.add_weight(node.input[2] if len(node.input) > 2 else
                                        node.name + ".bias", b) if has_bias else -1,
                "kernel": kernel, "strides": list(attr(node, "strides", [1, 1])),
                "dilations": list(attr(node, "dilations", [1, 1])),
                "pads": [pads[0], pads[1], pads[2], pads[3]],
                "group": group}, output

    def maxpool(self, node):
        if attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ExportError(f"MaxPool {node.name!r} uses auto_pad")
        if attr(node, "dilations", [1, 1]) != [1, 1] or len(node.output) > 1:
            raise ExportError(f"MaxPool {node.name!r}: dilations or indices are not supported")
        if attr(node, "storage_order", 0) != 0:
            raise ExportError(f"MaxPool {node.name!r}: storage_order is not supported")
        kernel = list(attr(node, "kernel_shape"))
        if len(kernel) != 2:
            raise ExportError(f"MaxPool {node.name!r} is not 2-D")
        return {"kernel": kernel, "strides": list(attr(node, "strides", [1, 1])),
                "pads": list(attr(node, "pads", [0, 0, 0, 0])),
                "ceil_mode": int(attr(node, "ceil_mode", 0))}

    def resize(self, node):
        mode = text(attr(node, "mode", b"nearest"))
        coords = text(attr(node, "coordinate_transformation_mode", b"half_pixel"))
        if mode == "linear":
            if coords not in ("half_pixel", "pytorch_half_pixel"):
                raise ExportError(f"Resize {node.name!r}: linear with {coords} coordinates is "
                                  "not supported (half_pixel only)")
        elif mode == "nearest":
            if coords != "asymmetric" or text(attr(node, "nearest_mode", b"round_prefer_floor")) \
                    != "floor":
                raise ExportError(f"Resize {node.name!r}: nearest needs asymmetric coordinates "
                                  "and floor rounding")
        else:
            raise ExportError(f"Resize {node.name!r}: mode {mode} is not supported")
        if len(node.input) > 3 and node.input[3]:
            raise ExportError(f"Resize {node.name!r} takes sizes; export with constant scales "
                              "(convert_isnet.py does this for IS-Net)")
        scales = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        if scales is None or list(scales.shape) != [4]:
            raise ExportError(f"Resize {node.name!r}: scales are not a constant of 4 values")
        s = float(scales[2])
        if scales[0] != 1 or scales[1] != 1 or scales[3] != s or s < 1 or s != int(s):
            raise ExportError(f"Resize {node.name!r}: scales {list(scales)} are not "
                              "[1, 1, s, s] with an integer s")
        # pytorch_half_pixel differs from half_pixel only for an output of size 1, which an
        # integer upscaling of at least 1 never makes.
        return {"mode": mode, "scale": int(s)}

    def export(self):
        graph = self.graph
        real_inputs = [i for i in graph.input if i.name not in self.inits]
        if len(real_inputs) != 1 or len(graph.output) != 1:
            raise ExportError("the graph must have exactly one input and one output "
                              "(convert_isnet.py keeps IS-Net's main output)")
        inp = real_inputs[0]
        dims = inp.type.tensor_type.shape.dim
        if len(dims) != 4 or not dims[1].dim_value:
            raise ExportError("the input must be NCHW with a known channel count")
        skip = set()
        for node in graph.node:
            if id(node) in skip or node.op_type == "Constant":
                continue
            op = node.op_type
            entry = {"op": op, "name": node.name or node.output[0],
                     "inputs": [node.input[0]], "output": node.output[0]}
            if op == "Conv":
                fields, entry["output"] = self.conv(node, skip)
                entry.update(fields)
            elif op in ("Relu", "Sigmoid"):
                pass
            elif op == "MaxPool":
                entry.update(self.maxpool(node))
            elif op == "Resize":
                entry.update(self.resize(node))
            elif op == "Concat":
                if attr(node, "axis") != 1:
                    raise ExportError(f"Concat {node.name!r} is not on channels (axis 1)")
                entry["inputs"] = list(node.input)
            elif op == "Add":
                if len(node.input) != 2 or any(self.const(i) is not None for i in node.input):
                    raise ExportError(f"Add {node.name!r} must add two feature maps")
                entry["inputs"] = list(node.input)
            else:
                raise ExportError(f"unsupported op {op} ({node.name!r})")
            self.nodes.append(entry)
        ops = sorted({n["op"] for n in self.nodes})
        return {"format": FORMAT,
                "input": {"name": inp.name, "channels": dims[1].dim_value},
                "output": graph.output[0].name,
                "weights": self.weights, "nodes": self.nodes,
                "stats": {"nodes": len(self.nodes), "weights": len(self.weights),
                          "fp16_weights": sum(w["dtype"] == "float16" for w in self.weights),
                          "blocked_weights": sum("layout" in w for w in self.weights),
                          "batchnorms_folded": self.folded_bn, "ops": ops}}


def write(doc, blob, dst):
    """Writes beside `dst`, then renames over it: a graph is never rewritten in place (a
    running engine reads its weights from the mapped file at every forward)."""
    header = json.dumps(doc, separators=(",", ":")).encode()
    head = MAGIC + struct.pack("<II", VERSION, len(header)) + header
    head += b"\0" * ((-len(head)) % ALIGN)
    tmp = f"{dst}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(head)
            f.write(blob)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def export(src, dst):
    started = time.monotonic()
    exporter = Exporter(onnx.load(src))
    doc = exporter.export()
    write(doc, bytes(exporter.blob), dst)
    stats = dict(doc["stats"], blob_bytes=len(exporter.blob),
                 seconds=round(time.monotonic() - started, 2))
    return stats


def file_format(path):
    """The "format" of a sparkify graph file's header (ExportError if it is not one)."""
    with open(path, "rb") as f:
        head = f.read(16)
        if len(head) < 16 or head[:8] != MAGIC:
            raise ExportError(f"{path} is not a sparkify graph")
        length = struct.unpack("<I", head[12:16])[0]
        try:
            return json.loads(f.read(length))["format"]
        except (ValueError, KeyError, TypeError):
            raise ExportError(f"{path} has no readable header")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--is-current":
        try:
            got = file_format(sys.argv[2])
        except (OSError, ExportError) as e:
            print(f"export_graph: {e}", file=sys.stderr)
            return 1
        if got == FORMAT:
            return 0
        if got == "sparkify-graph/1":
            return 3
        print(f"export_graph: {sys.argv[2]} is {got}, which this version does not write",
              file=sys.stderr)
        return 1
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args()
    try:
        stats = export(args.src, args.dst)
    except ExportError as e:
        print(f"export_graph: {e}", file=sys.stderr)
        return 1
    print(json.dumps(stats) if args.json else
          "\n".join(f"{k}: {v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
