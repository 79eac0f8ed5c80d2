// The onnxruntime side of bench/function_bench.sh: the same converted fp32 model on the very
// input blobs our engine was fed (sparkify_bench_function --dump), forward only.
//
//   node bench/function_bench_ort.mjs --ort DIR --model model.onnx --size N --blobs DIR \
//        [--repeat R] [--threads T] NAME...
//
// DIR holds node_modules/onnxruntime-node (installed with --ignore-scripts: the package ships
// its CPU library). For each NAME it reads BLOBS/NAME_N.f32 (1x3xNxN float32) and, when
// present, BLOBS/NAME_N.ours.f32 (our raw output) to report max |ort - ours|.
// Timings: session creation (model load), one warm-up run on the first blob, then R rounds
// over the blobs. Prints one JSON document on stdout (times in seconds, RSS in MB).
import { createRequire } from 'node:module';
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = { repeat: 3, threads: 2, names: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const next = () => {
    if (i + 1 >= args.length) fail(`${a} needs a value`);
    return args[++i];
  };
  if (a === '--ort') opt.ort = next();
  else if (a === '--model') opt.model = next();
  else if (a === '--size') opt.size = Number(next());
  else if (a === '--blobs') opt.blobs = next();
  else if (a === '--repeat') opt.repeat = Number(next());
  else if (a === '--threads') opt.threads = Number(next());
  else if (a.startsWith('-')) fail(`unknown option ${a}`);
  else opt.names.push(a);
}
function fail(why) {
  console.error(`function_bench_ort: ${why}`);
  process.exit(1);
}
if (!opt.ort || !opt.model || !opt.size || !opt.blobs || !opt.names.length || !(opt.repeat >= 1)) {
  fail('usage: function_bench_ort.mjs --ort DIR --model M.onnx --size N --blobs DIR ' +
       '[--repeat R] [--threads T] NAME...');
}

const require = createRequire(join(resolve(opt.ort), 'package.json'));
const ort = require('onnxruntime-node');
const ortVersion = require('onnxruntime-node/package.json').version;

const readF32 = (p) => {
  const b = readFileSync(p);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const maxAbsDiff = (a, b) => {
  if (a.length !== b.length) return null;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const seconds = (t) => Number(process.hrtime.bigint() - t) / 1e9;
const rssMb = () => process.resourceUsage().maxRSS * 1024 / 1e6; // maxRSS is in KiB
const statusMb = (field) => {
  const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) * 1024 / 1e6 : null;
};

const inputs = opt.names.map((name) => {
  const p = join(opt.blobs, `${name}_${opt.size}.f32`);
  if (!existsSync(p)) fail(`missing ${p}`);
  return { name, path: p, ref: join(opt.blobs, `${name}_${opt.size}.ours.f32`) };
});
const hwmBefore = rssMb();

let t = process.hrtime.bigint();
const session = await ort.InferenceSession.create(opt.model, {
  executionProviders: ['cpu'],
  intraOpNumThreads: opt.threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
});
const loadS = seconds(t);
const hwmLoad = rssMb();
const inName = session.inputNames[0];
const outName = session.outputNames[0];
// Blobs are read outside the timed region, one at a time (as our bench holds one image).
const feed = (x) => ({ [inName]: new ort.Tensor('float32', readF32(x.path), [1, 3, opt.size, opt.size]) });

let input = feed(inputs[0]);
t = process.hrtime.bigint();
await session.run(input);
const firstS = seconds(t);

const images = inputs.map((x) => ({ name: x.name, runs: [] }));
for (let r = 0; r < opt.repeat; r++) {
  for (let i = 0; i < inputs.length; i++) {
    input = feed(inputs[i]);
    t = process.hrtime.bigint();
    const res = await session.run(input);
    images[i].runs.push({ forward: seconds(t) });
    if (r === 0) {
      const out = res[outName].data;
      images[i].max_abs_diff_vs_ours = existsSync(inputs[i].ref)
        ? maxAbsDiff(out, readF32(inputs[i].ref)) : null;
    }
  }
}
console.log(JSON.stringify({
  engine: 'onnxruntime-node', ort: ortVersion, node: process.version, size: opt.size,
  threads: opt.threads, load_s: loadS, first_forward_s: firstS,
  maxrss_before_load_mb: hwmBefore, vmhwm_load_mb: hwmLoad, vmhwm_mb: statusMb('VmHWM'),
  images,
}, null, 1));
