#!/usr/bin/python3
"""Writes the tiny models and manifests that segmenter_test.cpp runs (a few hundred bytes
each, committed beside this script): each is an ONNX graph exported with
tools/model/export_graph.py into the engine's format. Run with Debian's python3-onnx:

    /usr/bin/python3 src/vision/testdata/make_tiny_models.py

Every model is one 1x1 convolution over x = pixel / 255, so its output is known exactly:
  tiny_classes.sgraph   3 logits per pixel: background 0, "red" 10*R - 5, "blue" 10*B - 5
  tiny_saliency.sgraph  1 logit per pixel: 4*R - 4*B (read through a sigmoid)
The weights are exact in fp16, so the export stores them as fp16.
"""
import hashlib
import json
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "model"))
import export_graph  # noqa: E402


def conv_graph(name, weights, bias):
    w = np.array(weights, np.float32).reshape(len(weights), 3, 1, 1)
    b = np.array(bias, np.float32)
    nodes = [helper.make_node("Conv", ["input", "w", "b"], ["output"], kernel_shape=[1, 1])]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, len(weights), "H", "W"])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    onnx.checker.check_model(model, full_check=True)
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "m.onnx"), os.path.join(tmp, "m.sgraph")
        onnx.save(model, src)
        export_graph.export(src, dst)
        with open(dst, "rb") as f:
            return f.read()


def manifest(name, file, data, default_size, size_multiple, fixed, output):
    return {
        "format": "sparkify-model/2", "name": name, "file": file,
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
        "input": {"name": "input", "layout": "NCHW", "channel_order": "RGB", "dtype": "float32",
                  "scale": 0.00392156862745098, "mean": [0, 0, 0], "std": [1, 1, 1],
                  "default_size": default_size, "size_multiple": size_multiple,
                  "fixed_size": fixed, "resize": "stretch"},
        "output": output, "precisions": ["fp32", "bf16"],
        "licence": "test data (Sparkify)", "licence_files": [],
    }


def write(path, data):
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(data)


def main():
    classes = conv_graph("tiny_classes", [[0, 0, 0], [10, 0, 0], [0, 0, 10]], [0, -5, -5])
    saliency = conv_graph("tiny_saliency", [[4, 0, -4]], [0])
    write("tiny_classes.sgraph", classes)
    write("tiny_saliency.sgraph", saliency)
    manifests = {
        "tiny_softmax.json": manifest(
            "tiny-softmax", "tiny_classes.sgraph", classes, 64, 16, False,
            {"name": "output", "kind": "softmax", "num_classes": 3, "foreground_classes": [1]}),
        "tiny_argmax_classes.json": manifest(
            "tiny-argmax-classes", "tiny_classes.sgraph", classes, 64, 16, False,
            {"name": "output", "kind": "argmax", "foreground_classes": [1]}),
        "tiny_saliency.json": manifest(
            "tiny-saliency", "tiny_saliency.sgraph", saliency, 32, 32, True,
            {"name": "output", "kind": "saliency", "activation": "sigmoid",
             "normalise": "none"}),
    }
    for path, m in manifests.items():
        write(path, (json.dumps(m, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
