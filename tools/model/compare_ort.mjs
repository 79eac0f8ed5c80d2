// Runs ONNX models on raw NCHW float32 blobs with onnxruntime (npm onnxruntime-node, CPU) and
// compares the outputs with another run's (e.g. OpenCV's, written by check_opencv.py
// --dump-input DIR): max absolute difference, and forward time (min of --repeat runs).
//
//   node tools/model/compare_ort.mjs --ort DIR --model M.onnx [--model FP16.onnx] \
//        [--repeat 3] [--threads 2] BLOB_DIR
// DIR holds node_modules/onnxruntime-node (npm install --ignore-scripts onnxruntime-node@1.17.3
// brings its CPU library). For every NAME_SIZE.f32 in BLOB_DIR it compares with
// NAME_SIZE.opencv.f32 when present. A model with a fixed input size is run only at that size.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = { models: [], repeat: 3, threads: 2 };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--ort') opt.ort = args[++i];
  else if (a === '--model') opt.models.push(args[++i]);
  else if (a === '--repeat') opt.repeat = Number(args[++i]);
  else if (a === '--threads') opt.threads = Number(args[++i]);
  else opt.blobs = a;
}
if (!opt.ort || !opt.models.length || !opt.blobs) {
  console.error('usage: compare_ort.mjs --ort DIR --model M.onnx [--model M2.onnx] BLOB_DIR');
  process.exit(2);
}
const ort = createRequire(join(resolve(opt.ort), 'package.json'))('onnxruntime-node');

const readF32 = (p) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const maxAbsDiff = (a, b) => {
  if (a.length !== b.length) return NaN;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const blobs = readdirSync(opt.blobs).filter((f) => /^[^.]+_\d+\.f32$/.test(f)).sort();
const outputs = {}; // blob -> model -> output data
for (const model of opt.models) {
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: opt.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const inName = session.inputNames[0];
  for (const blob of blobs) {
    const size = Number(blob.match(/_(\d+)\.f32$/)[1]);
    const input = new ort.Tensor('float32', readF32(join(opt.blobs, blob)), [1, 3, size, size]);
    const times = [];
    let out;
    try {
      for (let r = 0; r < opt.repeat; r++) {
        const t = process.hrtime.bigint();
        const res = await session.run({ [inName]: input });
        times.push(Number(process.hrtime.bigint() - t) / 1e9);
        out = res[session.outputNames[0]].data;
      }
    } catch (e) {
      console.log(`${model} ${blob}: not run (${String(e.message).split('\n')[0]})`);
      continue;
    }
    (outputs[blob] ??= {})[model] = out;
    const ref = join(opt.blobs, blob.replace(/\.f32$/, '.opencv.f32'));
    const vsCv = existsSync(ref) ? maxAbsDiff(out, readF32(ref)).toExponential(2) : 'n/a';
    console.log(`${model} ${blob}: forward min ${Math.min(...times).toFixed(2)} s ` +
      `(all ${times.map((x) => x.toFixed(2)).join(', ')}), max |ort - opencv| ${vsCv}`);
  }
}
if (opt.models.length > 1) {
  for (const [blob, byModel] of Object.entries(outputs)) {
    const [a, b] = opt.models.map((m) => byModel[m]);
    if (a && b) console.log(`${blob}: max |${opt.models[0]} - ${opt.models[1]}| ${maxAbsDiff(a, b).toExponential(2)}`);
  }
}
