#!/usr/bin/python3
"""Converts the fp16 IS-Net ONNX model of @imgly/background-removal-data into a fp32 graph
that OpenCV 4.6's DNN module loads and runs at any input size that is a multiple of 64.

Needs only Debian's python3-onnx and python3-numpy. What it does, in order:
  1. keeps only the main output (by default the graph's first output: the first side output
     through its sigmoid) and prunes every node and initialiser it does not need;
  2. drops the Cast nodes (fp16 <-> fp32 glue), rewiring their consumers to the Cast's input;
  3. converts fp16 initialisers and Constant tensors to fp32;
  4. replaces each Resize node's traced `sizes` input (Concat(Slice(Shape(x)), Constant), fixed
     at the traced input size) by a constant `scales` input [1, 1, 2, 2], after checking from the
     graph that every one of them upsamples by exactly 2 at the traced size;
  5. declares the input as [1, 3, height, width] and the output as [1, 1, height, width];
  6. checks the result with onnx.checker.

Any surprise (a Cast to a non-float type, a Resize that is not x2, an op whose shape it cannot
follow) stops the conversion with an error and exit status 1: never a silently wrong model.

Usage: convert_isnet.py SRC.onnx DST.onnx [--output NAME] [--json]
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.FLOAT16)
SCALES_NAME = "sparkify_resize_scales_x2"


class ConversionError(Exception):
    pass


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def const_value(name, constants, initialisers):
    if name in constants:
        return constants[name]
    if name in initialisers:
        return numpy_helper.to_array(initialisers[name])
    return None


def keep_main_output(graph, output_name):
    """Leaves `output_name` as the only graph output and prunes what it does not reach."""
    outputs = [o for o in graph.output if o.name == output_name]
    if not outputs:
        raise ConversionError(f"graph has no output named {output_name!r} "
                              f"(outputs: {[o.name for o in graph.output]})")
    del graph.output[:]
    graph.output.extend(outputs)
    prune(graph)


def prune(graph):
    """Removes nodes, initialisers and value_info that no graph output depends on."""
    producer = {o: n for n in graph.node for o in n.output}
    needed, stack = set(), [o.name for o in graph.output]
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        node = producer.get(name)
        if node is not None:
            stack.extend(i for i in node.input if i)
    kept = [n for n in graph.node if any(o in needed for o in n.output)]
    del graph.node[:]
    graph.node.extend(kept)
    inits = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def drop_casts(graph):
    """Removes every Cast node; consumers read the Cast's input instead."""
    alias = {}
    for node in graph.node:
        if node.op_type != "Cast":
            continue
        to = attr(node, "to")
        if to not in FLOAT_TYPES:
            raise ConversionError(f"Cast {node.name!r} converts to type {to}, not a float type: "
                                  "dropping it would change the graph's meaning")
        alias[node.output[0]] = node.input[0]

    def resolve(name):
        while name in alias:
            name = alias[name]
        return name

    kept = [n for n in graph.node if n.op_type != "Cast"]
    for node in kept:
        for i, name in enumerate(node.input):
            if name:
                node.input[i] = resolve(name)
    # A graph output that was a Cast's result: the producer of its source takes over its name.
    graph_inputs = {i.name for i in graph.input}
    for out in graph.output:
        src = resolve(out.name)
        if src == out.name:
            continue
        if src in graph_inputs:
            raise ConversionError(f"output {out.name!r} is a Cast of a graph input")
        for node in kept:
            for i, name in enumerate(node.output):
                if name == src:
                    node.output[i] = out.name
            for i, name in enumerate(node.input):
                if name == src:
                    node.input[i] = out.name
    removed = len(graph.node) - len(kept)
    del graph.node[:]
    graph.node.extend(kept)
    return removed


def to_fp32(tensor):
    out = numpy_helper.from_array(numpy_helper.to_array(tensor).astype(np.float32), tensor.name)
    tensor.CopyFrom(out)


def convert_fp16(graph):
    """Turns every fp16 initialiser and Constant tensor into fp32. Returns how many."""
    count = 0
    for t in graph.initializer:
        if t.data_type == TensorProto.FLOAT16:
            to_fp32(t)
            count += 1
    for node in graph.node:
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT16:
                to_fp32(a.t)
                count += 1
            if a.type == onnx.AttributeProto.TENSORS or a.type == onnx.AttributeProto.GRAPH:
                raise ConversionError(f"node {node.name!r} has a tensor-list or subgraph attribute")
    return count


def spatial_shapes(graph, height, width, constants, initialisers):
    """Follows the spatial size (H, W) of every float tensor through the graph at the traced
    input size. Knows the ops IS-Net uses; anything else is an error."""
    inp = graph.input[0].name
    hw = {inp: (height, width)}
    for node in graph.node:
        op = node.op_type
        if op in ("Shape", "Slice", "Constant") or not node.input:
            continue  # integer shape arithmetic: not a feature map
        src = hw.get(node.input[0])
        if src is None:
            if op == "Concat" and all(i in constants or i not in hw for i in node.input):
                continue  # Concat of integer shape pieces
            raise ConversionError(f"cannot follow the shape into {op} {node.name!r}")
        h, w = src
        if op in ("Relu", "Sigmoid", "Cast", "Add", "Concat"):
            for other in node.input[1:]:
                if other in hw and hw[other] != src:
                    raise ConversionError(f"{op} {node.name!r} joins maps of sizes "
                                          f"{src} and {hw[other]}")
            out = src
        elif op in ("Conv", "MaxPool"):
            k = attr(node, "kernel_shape")
            if k is None:
                k = list(initialisers[node.input[1]].dims[2:])
            s = attr(node, "strides", [1, 1])
            d = attr(node, "dilations", [1, 1])
            p = attr(node, "pads", [0, 0, 0, 0])
            if attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise ConversionError(f"{op} {node.name!r} uses auto_pad")
            rnd = math.ceil if attr(node, "ceil_mode", 0) else math.floor
            out = tuple(rnd((x + p[i] + p[i + 2] - d[i] * (k[i] - 1) - 1) / s[i]) + 1
                        for i, x in enumerate((h, w)))
        elif op == "Resize":
            sizes = const_value(node.input[3], constants, initialisers) \
                if len(node.input) > 3 and node.input[3] else None
            if sizes is None:
                raise ConversionError(f"Resize {node.name!r}: target size is not a constant")
            out = (int(sizes[-2]), int(sizes[-1]))
        else:
            raise ConversionError(f"unsupported op {op} ({node.name!r}) on the feature path")
        for o in node.output:
            hw[o] = out
    return hw


def fold_traced_sizes(graph):
    """Maps each Resize's `sizes` tensor name to its constant value when it is
    Concat(Slice(Shape(x), 0, 2), Constant[h, w]) -- i.e. keep N and C, set H and W."""
    producer = {o: n for n in graph.node for o in n.output}
    constants = {}
    for node in graph.node:
        if node.op_type == "Constant":
            constants[node.output[0]] = numpy_helper.to_array(attr(node, "value"))
    folded = {}
    for node in graph.node:
        if node.op_type != "Resize" or len(node.input) < 4 or not node.input[3]:
            continue
        cat = producer.get(node.input[3])
        if cat is None or cat.op_type != "Concat" or len(cat.input) != 2:
            raise ConversionError(f"Resize {node.name!r}: sizes is not Concat(Slice, Constant)")
        sl, hw = producer.get(cat.input[0]), constants.get(cat.input[1])
        if sl is None or sl.op_type != "Slice" or hw is None or hw.shape != (2,):
            raise ConversionError(f"Resize {node.name!r}: sizes is not Concat(Slice, Constant)")
        starts, ends = constants.get(sl.input[1]), constants.get(sl.input[2])
        shape_node = producer.get(sl.input[0])
        if (shape_node is None or shape_node.op_type != "Shape" or starts is None
                or ends is None or list(starts) != [0] or list(ends) != [2]):
            raise ConversionError(f"Resize {node.name!r}: sizes does not keep N, C of a Shape")
        folded[node.input[3]] = np.array([0, 0, hw[0], hw[1]], dtype=np.int64)
    return constants, folded


def resize_to_scales(graph):
    """Checks that every Resize doubles H and W at the traced size, then gives it constant
    scales [1, 1, 2, 2] so that the graph no longer depends on the traced size."""
    dims = graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 4 or not dims[2].dim_value or not dims[3].dim_value:
        raise ConversionError("the source input is not a fixed NCHW shape: no traced size")
    height, width = dims[2].dim_value, dims[3].dim_value
    constants, folded = fold_traced_sizes(graph)
    initialisers = {t.name: t for t in graph.initializer}
    hw = spatial_shapes(graph, height, width, {**constants, **folded}, initialisers)
    resizes = [n for n in graph.node if n.op_type == "Resize"]
    for node in resizes:
        (h, w), (oh, ow) = hw[node.input[0]], hw[node.output[0]]
        if (oh, ow) != (2 * h, 2 * w):
            raise ConversionError(f"Resize {node.name!r} maps {h}x{w} to {oh}x{ow} at the traced "
                                  f"input {height}x{width}: not an exact x2 upsampling")
        del node.input[1:]
        node.input.extend(["", SCALES_NAME])
    graph.initializer.append(numpy_helper.from_array(
        np.array([1, 1, 2, 2], dtype=np.float32), SCALES_NAME))
    prune(graph)  # the Shape/Slice/Concat chains that computed sizes are now dead
    out_hw = hw[graph.output[0].name]
    if out_hw != (height, width):
        raise ConversionError(f"output is {out_hw}, not the input size {height}x{width}")
    return len(resizes), (height, width)


def declare_io(graph):
    """Input [1, 3, height, width] fp32, output [1, 1, height, width] fp32; no stale shapes."""
    del graph.value_info[:]
    inp, out = graph.input[0], graph.output[0]
    inp.CopyFrom(helper.make_tensor_value_info(inp.name, TensorProto.FLOAT,
                                               [1, 3, "height", "width"]))
    out.CopyFrom(helper.make_tensor_value_info(out.name, TensorProto.FLOAT,
                                               [1, 1, "height", "width"]))
    initialisers = {t.name for t in graph.initializer}
    extra = [i for i in graph.input[1:] if i.name not in initialisers]
    if extra:
        raise ConversionError(f"graph has more than one real input: {[i.name for i in extra]}")
    del graph.input[1:]


def convert(src, dst, output_name=None):
    started = time.monotonic()
    model = onnx.load(src)
    graph = model.graph
    stats = {"source_nodes": len(graph.node), "source_outputs": len(graph.output)}
    keep_main_output(graph, output_name or graph.output[0].name)
    stats["casts_removed"] = drop_casts(graph)
    stats["fp16_tensors_converted"] = convert_fp16(graph)
    stats["resize_nodes"], traced = resize_to_scales(graph)
    stats["traced_size"] = list(traced)
    declare_io(graph)
    leftover = {n.op_type for n in graph.node} & {"Cast", "Shape", "Slice"}
    if leftover:
        raise ConversionError(f"ops left that OpenCV would fold at the traced size: {leftover}")
    if any(t.data_type != TensorProto.FLOAT for t in graph.initializer):
        raise ConversionError("a non-fp32 initialiser is left")
    model.producer_name = "sparkify convert_isnet.py"
    model.producer_version = "1"
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, dst)
    onnx.checker.check_model(dst, full_check=True)
    stats.update(nodes=len(graph.node), initialisers=len(graph.initializer),
                 input=graph.input[0].name, output=graph.output[0].name,
                 ops=sorted({n.op_type for n in graph.node}),
                 seconds=round(time.monotonic() - started, 2))
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--output", help="graph output to keep (default: the first)")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args()
    try:
        stats = convert(args.src, args.dst, args.output)
    except (ConversionError, onnx.checker.ValidationError) as e:
        print(f"convert_isnet: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(stats))
    else:
        for k, v in stats.items():
            print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
