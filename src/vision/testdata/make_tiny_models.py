#!/usr/bin/python3
"""Writes the tiny ONNX models and manifests that segmenter_test.cpp runs (a few hundred bytes
each, committed beside this script). Run with Debian's python3-onnx:

    /usr/bin/python3 src/vision/testdata/make_tiny_models.py

Every model is one 1x1 convolution over x = pixel / 255, so its output is known exactly:
  tiny_classes.onnx   3 logits per pixel: background 0, "red" 10*R - 5, "blue" 10*B - 5
  tiny_saliency.onnx  1 logit per pixel: 4*R - 4*B (read through a sigmoid)
  tiny_argmax.onnx    tiny_classes followed by ArgMax over the classes (1x1xHxW indices)
"""
import hashlib
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def conv_graph(name, weights, bias, argmax=False):
    w = np.array(weights, np.float32).reshape(len(weights), 3, 1, 1)
    b = np.array(bias, np.float32)
    nodes = [helper.make_node("Conv", ["input", "w", "b"], ["logits" if argmax else "output"],
                                kernel_shape=[1, 1])]
    out_channels = 1 if argmax else len(weights)
    out_type = TensorProto.INT64 if argmax else TensorProto.FLOAT
    if argmax:
        nodes.append(helper.make_node("ArgMax", ["logits"], ["output"], axis=1, keepdims=1))
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("output", out_type, [1, out_channels, "H", "W"])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def manifest(name, file, data, default_size, size_multiple, fixed, output):
    return {
        "format": "sparkify-model/1", "name": name, "file": file,
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
        "input": {"name": "input", "layout": "NCHW", "channel_order": "RGB", "dtype": "float32",
                  "scale": 0.00392156862745098, "mean": [0, 0, 0], "std": [1, 1, 1],
                  "default_size": default_size, "size_multiple": size_multiple,
                  "fixed_size": fixed, "resize": "stretch"},
        "output": output, "licence": "test data (Sparkify)", "licence_files": [],
    }


def write(path, data):
    with open(os.path.join(HERE, path), "wb") as f:
        f.write(data)


def main():
    classes = conv_graph("tiny_classes", [[0, 0, 0], [10, 0, 0], [0, 0, 10]], [0, -5, -5])
    saliency = conv_graph("tiny_saliency", [[4, 0, -4]], [0])
    argmax = conv_graph("tiny_argmax", [[0, 0, 0], [10, 0, 0], [0, 0, 10]], [0, -5, -5], True)
    write("tiny_classes.onnx", classes)
    write("tiny_saliency.onnx", saliency)
    write("tiny_argmax.onnx", argmax)
    manifests = {
        "tiny_softmax.json": manifest(
            "tiny-softmax", "tiny_classes.onnx", classes, 64, 16, False,
            {"name": "output", "kind": "softmax", "num_classes": 3, "foreground_classes": [1]}),
        "tiny_argmax_classes.json": manifest(
            "tiny-argmax-classes", "tiny_classes.onnx", classes, 64, 16, False,
            {"name": "output", "kind": "argmax", "foreground_classes": [1]}),
        "tiny_argmax_index.json": manifest(
            "tiny-argmax-index", "tiny_argmax.onnx", argmax, 64, 16, False,
            {"name": "output", "kind": "argmax", "foreground_classes": [1]}),
        "tiny_saliency.json": manifest(
            "tiny-saliency", "tiny_saliency.onnx", saliency, 32, 32, True,
            {"name": "output", "kind": "saliency", "activation": "sigmoid",
             "normalise": "none"}),
    }
    for path, m in manifests.items():
        write(path, (json.dumps(m, indent=2) + "\n").encode())


if __name__ == "__main__":
    main()
