// Shared by the end-to-end page test and the web benchmark: a `sparkify up` process tree in a
// scratch data dir, and a headless Debian chromium driven by npm playwright-core (both
// provided by scripts/setup.sh).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const cacheDir = process.env.SPARKIFY_CACHE || path.join(os.homedir(), '.cache/sparkify');
export const samplesDir = path.join(cacheDir, 'samples');

export function fail(message) {
  throw new Error(message);
}

export function check(condition, message) {
  if (!condition) fail(message);
}

// A port the kernel just handed out on 127.0.0.1, closed again for a server to take (for a
// server that must know its port before it starts, such as a Spotify redirect URI).
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function loadPlaywright() {
  const require = createRequire(path.join(cacheDir, 'npm') + path.sep);
  try {
    return require('playwright-core');
  } catch {
    fail(`playwright-core is not installed in ${cacheDir}/npm: run scripts/setup.sh --deps`);
  }
}

export async function launchBrowser() {
  const { chromium } = loadPlaywright();
  const executablePath = process.env.SPARKIFY_CHROMIUM || '/usr/bin/chromium';
  check(fs.existsSync(executablePath), `${executablePath} is missing: run scripts/setup.sh --deps`);
  return chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

// Starts `sparkify up` on ports the kernel picks (0; the web app on `webPort` if given) with its data in `dataDir`; resolves once
// it prints its "sparkify up ready:" line (or rejects when it exits first or takes over
// `timeoutMs`). `output()` is everything it printed so far; `reports()` counts the function's
// REPORT lines (one per invocation).
export async function startUp({ bin, dataDir, modelSize, webPort = 0, extraArgs = [], env = {},
  timeoutMs = 300_000 }) {
  const args = ['up', '--data', dataDir, '--web-port', String(webPort), '--function-port', '0',
    '--store-port', '0', '--allow-private-fetch', ...extraArgs];
  if (modelSize) args.push('--model-size', String(modelSize));
  const child = spawn(bin, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,  // its own process group, so a hard stop reaches the children too
  });
  const killGroup = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  let output = '';
  let exitInfo = null;
  // If this script ends first (a failure, a ctest timeout), nothing of the tree is left.
  const orphanGuard = () => killGroup();
  process.on('exit', orphanGuard);
  for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => process.exit(1));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    exitInfo = { code, signal };
    process.off('exit', orphanGuard);
    resolve(exitInfo);
  }));
  const READY = /sparkify up ready: web (\S+) function (\S+) store (\S+)/;
  const urls = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      `sparkify up was not ready within ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
    const onData = (d) => {
      output += d;
      const m = READY.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ web: m[1], fn: m[2], store: m[3] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then((info) => {
      clearTimeout(timer);
      reject(new Error(`sparkify up exited (${JSON.stringify(info)}) before it was ready:\n${output}`));
    });
  }).catch((err) => {
    killGroup();
    throw err;
  });
  const base = urls.web.replace(/\/$/, '');
  return {
    base,
    functionUrl: urls.fn,
    storeOrigin: new URL(urls.store).origin,
    output: () => output,
    reports: () => (output.match(/^.*REPORT RequestId:/gm) || []).length,
    // Ctrl-C; resolves with the exit status (the whole group is killed after 20 s).
    async stop() {
      if (exitInfo) return exitInfo;
      child.kill('SIGINT');
      const timer = setTimeout(killGroup, 20_000);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
  };
}

export function scratchDir(name) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sparkify-${name}-`));
}

export function samplePaths(names) {
  return names.map((n) => {
    const p = path.join(samplesDir, n);
    check(fs.existsSync(p), `${p} is missing: run scripts/setup.sh --deps`);
    return p;
  });
}
