#!/usr/bin/python3
"""Tests of the model tools on small synthetic inputs (no download, no real model):
chunk assembly and its failures, manifest write/check, and the converter on a tiny fp16 graph
shaped like IS-Net's (Casts, Resize with traced sizes, several outputs).

Run: /usr/bin/python3 tools/model/test_model_tools.py   (the converter tests need python3-onnx)
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import struct
import sys
import tarfile
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import assemble_model  # noqa: E402
import manifest  # noqa: E402

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import convert_isnet
    import export_graph
except ImportError:  # python3-onnx missing: the converter tests are skipped
    onnx = None


def make_package(path, chunks, resource="/models/medium", size=None, index_chunks=None):
    """A fake background-removal-data tarball holding `chunks` (list of bytes)."""
    entries, offset = [], 0
    for c in chunks:
        entries.append({"hash": hashlib.sha256(c).hexdigest(),
                        "offsets": [offset, offset + len(c)]})
        offset += len(c)
    index = {resource: {"chunks": index_chunks or entries,
                        "size": offset if size is None else size}}
    files = {"package/dist/resources.json": json.dumps(index).encode(),
             "package/LICENSE.md": b"# GNU Affero General Public License\n",
             "package/ThirdPartyLicenses.json": b"{}"}
    for e, c in zip(entries, chunks):
        files[f"package/dist/{e['hash']}"] = c
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return entries


class AssembleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.tgz = os.path.join(self.dir, "p.tgz")
        self.chunks = [b"a" * 10, b"b" * 10, b"c" * 3]
        self.whole = b"".join(self.chunks)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_assembles_in_order_and_checks_the_whole(self):
        make_package(self.tgz, self.chunks)
        sha = hashlib.sha256(self.whole).hexdigest()
        parts, got, count, licences = assemble_model.assemble(self.tgz, "/models/medium", 23, sha)
        self.assertEqual(b"".join(parts), self.whole)
        self.assertEqual((got, count), (sha, 3))
        self.assertIn("LICENSE.md", licences)

    def test_failures(self):
        cases = [  # (what the index says, expected message fragment)
            ("size", "expected 99"),
            ("sha", "sha256 is"),
            ("missing", "missing from the package"),
            ("gap", "expected to start at"),
            ("resource", "no resource"),
        ]
        for what, fragment in cases:
            with self.subTest(what):
                entries = make_package(self.tgz, self.chunks)
                size, sha, resource, index = 23, None, "/models/medium", None
                if what == "size":
                    size = 99
                elif what == "sha":
                    sha = "0" * 64
                elif what == "missing":
                    index = entries + [{"hash": "f" * 64, "offsets": [23, 30]}]
                    make_package(self.tgz, self.chunks, size=30, index_chunks=index)
                    size = 30
                elif what == "gap":
                    index = [entries[0], dict(entries[1], offsets=[11, 21]), entries[2]]
                    make_package(self.tgz, self.chunks, index_chunks=index)
                elif what == "resource":
                    resource = "/models/large"
                with self.assertRaises(assemble_model.AssemblyError) as e:
                    assemble_model.assemble(self.tgz, resource, size, sha)
                self.assertIn(fragment, str(e.exception))

    def test_chunk_whose_content_does_not_match_its_name(self):
        # Build a tarball by hand whose file named H holds other bytes.
        entries = make_package(self.tgz, self.chunks)
        bad = os.path.join(self.dir, "bad.tgz")
        with tarfile.open(self.tgz, "r:gz") as src, tarfile.open(bad, "w:gz") as dst:
            for m in src:
                data = src.extractfile(m).read()
                if m.name.endswith(entries[1]["hash"]):
                    data = b"B" * len(data)
                dst.addfile(m, io.BytesIO(data))
        with self.assertRaises(assemble_model.AssemblyError) as e:
            assemble_model.assemble(bad, "/models/medium", 23, None)
        self.assertIn("chunk 1 is corrupt", str(e.exception))


class ManifestTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.template = os.path.join(self.dir, "t.json")
        with open(self.template, "w") as f:
            json.dump({"format": "sparkify-model/2", "name": "m", "file": "model.onnx",
                       "input": {}, "output": {}, "licence": "x"}, f)
        self.model = os.path.join(self.dir, "model.onnx")
        with open(self.model, "wb") as f:
            f.write(b"weights")
        self.out = os.path.join(self.dir, "manifest.json")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_write_then_check_then_tamper(self):
        m = manifest.write(self.template, self.model, self.out, {"version": "1"}, {"n": 1})
        self.assertEqual(list(m)[:5], ["format", "name", "file", "sha256", "size"])
        self.assertEqual(m["sha256"], hashlib.sha256(b"weights").hexdigest())
        self.assertEqual(manifest.check(self.out)["size"], 7)
        with open(self.model, "wb") as f:
            f.write(b"weightz")
        with self.assertRaisesRegex(manifest.ManifestError, "sha256"):
            manifest.check(self.out)
        os.remove(self.model)
        with self.assertRaisesRegex(manifest.ManifestError, "missing"):
            manifest.check(self.out)

    def test_sync_takes_the_templates_precisions_and_nothing_else(self):
        manifest.write(self.template, self.model, self.out, {"version": "1"}, {"n": 1})
        self.assertEqual(manifest.sync(self.template, self.out), {})  # in neither
        with open(self.template) as f:
            t = json.load(f)
        t["precisions"] = ["fp32", "fast"]
        t["name"] = "renamed"  # the file's facts and identity stay the prepared model's
        with open(self.template, "w") as f:
            json.dump(t, f)
        before = manifest.load(self.out)
        self.assertEqual(manifest.sync(self.template, self.out), {"precisions": ["fp32", "fast"]})
        after = manifest.load(self.out)
        self.assertEqual(after, before | {"precisions": ["fp32", "fast"]})
        self.assertEqual(manifest.check(self.out)["sha256"], before["sha256"])
        self.assertEqual(manifest.sync(self.template, self.out), {})  # already in step
        del t["precisions"]  # back to the default (fp32 only): the prepared model follows
        with open(self.template, "w") as f:
            json.dump(t, f)
        self.assertEqual(manifest.sync(self.template, self.out), {"precisions": None})
        self.assertNotIn("precisions", manifest.load(self.out))
        self.assertEqual(sorted(os.listdir(self.dir)), ["manifest.json", "model.onnx", "t.json"])


def tiny_isnet(scale=2, traced=64):
    """input fp32 -> Cast fp16 -> Conv s2 -> Relu -> [Resize to traced size, via Casts] ->
    Sigmoid -> Cast fp32 -> output; plus a second, unused head."""
    half = traced // 2
    nodes = [
        helper.make_node("Cast", ["input"], ["x16"], to=TensorProto.FLOAT16),
        helper.make_node("Conv", ["x16", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1] * 4,
                         strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Shape", ["r"], ["shape"]),
        helper.make_node("Constant", [], ["z"], value=numpy_helper.from_array(
            np.array([0], np.int64))),
        helper.make_node("Constant", [], ["two"], value=numpy_helper.from_array(
            np.array([2], np.int64))),
        helper.make_node("Slice", ["shape", "z", "two", "z"], ["nc"]),
        helper.make_node("Constant", [], ["hw"], value=numpy_helper.from_array(
            np.array([half * scale, half * scale], np.int64))),
        helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
        helper.make_node("Cast", ["r"], ["r32"], to=TensorProto.FLOAT),
        helper.make_node("Resize", ["r32", "", "", "sizes"], ["up32"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("Cast", ["up32"], ["up"], to=TensorProto.FLOAT16),
        helper.make_node("Sigmoid", ["up"], ["s"]),
        helper.make_node("Cast", ["s"], ["output"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["r"], ["side"], to=TensorProto.FLOAT),
    ]
    inits = [numpy_helper.from_array(np.full((1, 3, 3, 3), 0.1, np.float16), "w"),
             numpy_helper.from_array(np.zeros(1, np.float16), "b")]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, traced, traced])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("side", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])


@unittest.skipIf(onnx is None, "python3-onnx is not installed")
class ConvertTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.src, self.dst = os.path.join(self.dir, "s.onnx"), os.path.join(self.dir, "d.onnx")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_converts_a_tiny_isnet_like_graph(self):
        onnx.save(tiny_isnet(), self.src)
        stats = convert_isnet.convert(self.src, self.dst)
        self.assertEqual((stats["resize_nodes"], stats["output"]), (1, "output"))
        m = onnx.load(self.dst)
        ops = [n.op_type for n in m.graph.node]
        self.assertEqual(ops, ["Conv", "Relu", "Resize", "Sigmoid"])
        self.assertEqual([o.name for o in m.graph.output], ["output"])
        self.assertTrue(all(t.data_type == TensorProto.FLOAT for t in m.graph.initializer))
        dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
        self.assertEqual(dims, [1, 3, "height", "width"])
        resize = m.graph.node[2]
        scales = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}[resize.input[2]]
        self.assertEqual(scales.tolist(), [1, 1, 2, 2])

    def test_refuses_a_resize_that_is_not_x2(self):
        onnx.save(tiny_isnet(scale=4), self.src)
        with self.assertRaisesRegex(convert_isnet.ConversionError, "not an exact x2"):
            convert_isnet.convert(self.src, self.dst)
        self.assertFalse(os.path.exists(self.dst))

    def test_refuses_an_unknown_output(self):
        onnx.save(tiny_isnet(), self.src)
        with self.assertRaisesRegex(convert_isnet.ConversionError, "no output named"):
            convert_isnet.convert(self.src, self.dst, "nope")


def tiny_unet(extra=None):
    """fp32 graph: Conv -> BatchNormalization -> Relu -> MaxPool (ceil) -> Conv -> Resize x2
    (half_pixel, constant scales) -> Concat with the first map -> Conv -> Add -> Sigmoid."""
    rng = np.random.default_rng(3)
    inits = []

    def weight(name, shape, scale=0.3):
        inits.append(numpy_helper.from_array(
            (rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name
    nodes = [
        helper.make_node("Conv", ["input", weight("w1", (8, 3, 3, 3)), weight("b1", (8,))],
                         ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("BatchNormalization",
                         ["c1", weight("g", (8,)), weight("be", (8,)), weight("mu", (8,)),
                          "var"], ["bn"], epsilon=1e-5, name="bn1"),
        helper.make_node("Relu", ["bn"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2],
                         ceil_mode=1),
        helper.make_node("Conv", ["p1", weight("w2", (8, 8, 3, 3))], ["c2"],
                         kernel_shape=[3, 3], pads=[2, 2, 2, 2], dilations=[2, 2]),
        helper.make_node("Resize", ["c2", "", "scales"], ["up"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
        helper.make_node("Concat", ["up", "r1"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", weight("w3", (8, 16, 1, 1))], ["c3"],
                         kernel_shape=[1, 1]),
        helper.make_node("Add", ["c3", "r1"], ["sum"]),
        helper.make_node("Sigmoid", ["sum"], ["output"]),
    ]
    inits.append(numpy_helper.from_array(np.abs(rng.standard_normal(8)).astype(np.float32) + 0.5,
                                         "var"))
    inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
    if extra:
        nodes.append(extra)
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8, 8, 8])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def read_graph(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"SPKGRAPH"
    version, length = struct.unpack("<II", data[8:16])
    doc = json.loads(data[16:16 + length])
    start = (16 + length + 63) // 64 * 64
    return version, doc, data[start:]


@unittest.skipIf(onnx is None, "python3-onnx is not installed")
class ExportGraphTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.src, self.dst = os.path.join(self.dir, "s.onnx"), os.path.join(self.dir, "g.sgraph")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_exports_ops_and_folds_batchnorm(self):
        model = tiny_unet()
        onnx.save(model, self.src)
        stats = export_graph.export(self.src, self.dst)
        self.assertEqual(stats["batchnorms_folded"], 1)
        version, doc, blob = read_graph(self.dst)
        self.assertEqual((version, doc["format"], doc["output"]), (1, "sparkify-graph/2", "output"))
        ops = [n["op"] for n in doc["nodes"]]
        self.assertEqual(ops, ["Conv", "Relu", "MaxPool", "Conv", "Resize", "Concat", "Conv",
                               "Add", "Sigmoid"])
        conv1 = doc["nodes"][0]
        self.assertEqual(conv1["output"], "bn")  # the BatchNormalization's output
        self.assertEqual(doc["nodes"][2]["ceil_mode"], 1)
        self.assertEqual(doc["nodes"][3]["dilations"], [2, 2])
        self.assertEqual(doc["nodes"][3]["bias"], -1)
        self.assertEqual((doc["nodes"][4]["mode"], doc["nodes"][4]["scale"]), ("linear", 2))
        # Random fp32 weights are not exact in fp16: stored as fp32, at 64-byte offsets.
        for w in doc["weights"]:
            self.assertEqual(w["offset"] % 64, 0)
            self.assertEqual(w["dtype"], "float32")
        # The folded weights compute what Conv + BatchNormalization computed.
        inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        w = doc["weights"][conv1["weight"]]
        folded = np.frombuffer(blob[w["offset"]:w["offset"] + w["bytes"]], "<f4").reshape(
            w["shape"])
        k = inits["g"] / np.sqrt(inits["var"] + 1e-5)
        np.testing.assert_allclose(folded, inits["w1"] * k.reshape(-1, 1, 1, 1), rtol=1e-6)
        b = doc["weights"][conv1["bias"]]
        bias = np.frombuffer(blob[b["offset"]:b["offset"] + b["bytes"]], "<f4")
        np.testing.assert_allclose(bias, (inits["b1"] - inits["mu"]) * k + inits["be"],
                                   rtol=1e-5, atol=1e-6)

    def test_fp16_exact_weights_are_stored_as_fp16(self):
        model = tiny_unet()
        for t in model.graph.initializer:
            a = numpy_helper.to_array(t).astype(np.float16).astype(np.float32)
            t.CopyFrom(numpy_helper.from_array(a, t.name))
        onnx.save(model, self.src)
        export_graph.export(self.src, self.dst)
        _, doc, _ = read_graph(self.dst)
        conv3 = doc["nodes"][6]
        self.assertEqual(doc["weights"][conv3["weight"]]["dtype"], "float16")

    def test_3x3_fp16_kernels_are_blocked_by_8_output_channels(self):
        model = tiny_unet()
        for t in model.graph.initializer:
            a = numpy_helper.to_array(t).astype(np.float16).astype(np.float32)
            t.CopyFrom(numpy_helper.from_array(a, t.name))
        inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        onnx.save(model, self.src)
        stats = export_graph.export(self.src, self.dst)
        _, doc, blob = read_graph(self.dst)
        w2 = doc["weights"][doc["nodes"][3]["weight"]]  # 8 x 8 x 3 x 3, dilated
        self.assertEqual((w2["layout"], w2["dtype"], w2["shape"]), ("Oihw8o", "float16",
                                                                     [8, 8, 3, 3]))
        stored = np.frombuffer(blob[w2["offset"]:w2["offset"] + w2["bytes"]], "<f2")
        # Element (o, i, y, x) at ((o // 8 * I + i) * 9 + 3 y + x) * 8 + o % 8.
        want = inits["w2"].reshape(1, 8, 8, 3, 3).transpose(0, 2, 3, 4, 1).ravel()
        np.testing.assert_array_equal(stored.astype(np.float32), want)
        self.assertEqual(stored[((0 * 8 + 5) * 9 + 3 * 2 + 1) * 8 + 6], inits["w2"][6, 5, 2, 1])
        # The 1x1 kernel and the biases stay row-major; so does the folded conv1 (its
        # BatchNormalization makes it inexact in fp16: stored as fp32).
        w3 = doc["weights"][doc["nodes"][6]["weight"]]
        self.assertNotIn("layout", w3)
        self.assertNotIn("layout", doc["weights"][doc["nodes"][0]["weight"]])
        self.assertEqual(stats["blocked_weights"], 1)
        # Several blocks of 8: element (o, i, y, x) of a 24 x 5 x 3 x 3 kernel at
        # ((o // 8 * 5 + i) * 9 + 3 y + x) * 8 + o % 8, checked one by one.
        exporter = export_graph.Exporter(model)
        w = np.random.default_rng(1).standard_normal((24, 5, 3, 3)).astype(np.float16)
        index = exporter.add_weight("k", w.astype(np.float32), blockable=True)
        entry = exporter.weights[index]
        self.assertEqual(entry["layout"], "Oihw8o")
        stored = np.frombuffer(bytes(exporter.blob[entry["offset"]:]), "<f2")
        for o, i, y, x in np.ndindex(24, 5, 3, 3):
            self.assertEqual(stored[((o // 8 * 5 + i) * 9 + 3 * y + x) * 8 + o % 8], w[o, i, y, x])
        # Not blocked: output channels not a multiple of 8, another kernel size, a grouped
        # convolution (blockable False), or inexact in fp16.
        for shape, blockable, scale in [((12, 5, 3, 3), True, 1), ((16, 5, 1, 1), True, 1),
                                        ((16, 5, 3, 3), False, 1), ((16, 5, 3, 3), True, 1.001)]:
            a = (np.ones(shape, np.float32) * scale).astype(np.float32)
            entry = exporter.weights[exporter.add_weight("n", a, blockable=blockable)]
            self.assertNotIn("layout", entry, shape)

    def test_is_current_tells_an_older_export(self):
        onnx.save(tiny_unet(), self.src)
        export_graph.export(self.src, self.dst)
        run = lambda path: subprocess.run([sys.executable, export_graph.__file__, "--is-current",
                                           path], capture_output=True).returncode
        self.assertEqual(run(self.dst), 0)
        with open(self.dst, "rb") as f:
            data = bytearray(f.read())
        at = data.index(b'"sparkify-graph/2"')
        data[at:at + 18] = b'"sparkify-graph/1"'
        with open(self.dst, "wb") as f:
            f.write(data)
        self.assertEqual(run(self.dst), 3)
        data[at:at + 18] = b'"sparkify-graph/9"'
        with open(self.dst, "wb") as f:
            f.write(data)
        self.assertEqual(run(self.dst), 1)  # newer than this version writes: not "older"
        with open(self.dst, "wb") as f:
            f.write(b"not a graph")
        self.assertEqual(run(self.dst), 1)
        # The export replaces the file, never rewrites it in place (a running engine maps it).
        onnx.save(tiny_unet(), self.src)
        before = os.stat(self.dst).st_ino
        export_graph.export(self.src, self.dst)
        self.assertNotEqual(os.stat(self.dst).st_ino, before)
        self.assertEqual(sorted(os.listdir(self.dir)), ["g.sgraph", "s.onnx"])

    def test_refuses_what_it_would_have_to_guess(self):
        cases = [
            (helper.make_node("Softmax", ["output"], ["sm"]), "unsupported op Softmax"),
        ]
        for extra, message in cases:
            model = tiny_unet(extra)
            model.graph.output[0].name = "sm"
            onnx.save(model, self.src)
            with self.assertRaisesRegex(export_graph.ExportError, message):
                export_graph.export(self.src, self.dst)
        model = tiny_unet()
        for n in model.graph.node:
            if n.op_type == "Resize":
                for a in n.attribute:
                    if a.name == "coordinate_transformation_mode":
                        a.s = b"align_corners"
        onnx.save(model, self.src)
        with self.assertRaisesRegex(export_graph.ExportError, "linear with align_corners"):
            export_graph.export(self.src, self.dst)
        model = tiny_unet()
        for t in model.graph.initializer:
            if t.name == "scales":
                t.CopyFrom(numpy_helper.from_array(np.array([1, 1, 1.5, 1.5], np.float32),
                                                   "scales"))
        onnx.save(model, self.src)
        with self.assertRaisesRegex(export_graph.ExportError, "integer"):
            export_graph.export(self.src, self.dst)


if __name__ == "__main__":
    unittest.main()
