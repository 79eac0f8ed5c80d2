// The web app's benchmark (bench/web_bench.sh runs it): `sparkify up` in a fresh data dir,
// the page in headless chromium, N distinct covers uploaded through the file picker.
//   cold: submit -> collage shown (every image loaded), nothing cached;
//   warm: the same covers again in a new job (cut-outs already in the bucket);
//   page: transfer size and time to first contentful paint of the landing page.
// The N covers are made from the sample photos by the browser itself (crops, mirror images,
// hue turns, as JPEGs), so that each one is a distinct image with its own cut-out.
import fs from 'node:fs';
import path from 'node:path';

import {
  check, launchBrowser, samplePaths, scratchDir, startUp,
} from '../tests/e2e/lib.mjs';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const bin = arg('bin', process.env.SPARKIFY_BIN || path.resolve('build/sparkify'));
const covers = Number(arg('covers', '30'));
const modelSize = arg('model-size', '');
const workers = arg('function-workers', '');  // default: sparkify up's

const SAMPLES = ['astronaut.png', 'chelsea.png', 'coffee.png', 'rocket.jpg', 'camera.png',
  'coins.png', 'clock_motion.png', 'horse.png', 'hubble_deep_field.jpg', 'retina.jpg',
  'ihc.png', 'logo.png'];

// Variant i of the samples, drawn by the browser: a different crop, mirror and hue per round.
async function makeCovers(browser, dir, n) {
  const page = await browser.newPage();
  const sources = samplePaths(SAMPLES).map((p) => fs.readFileSync(p).toString('base64'));
  const files = [];
  for (let i = 0; i < n; ++i) {
    const round = Math.floor(i / SAMPLES.length);
    const name = SAMPLES[i % SAMPLES.length];
    const type = name.endsWith('.png') ? 'image/png' : 'image/jpeg';
    const b64 = await page.evaluate(async ({ data, mime, r }) => {
      const img = await createImageBitmap(await (await fetch(`data:${mime};base64,${data}`)).blob());
      const side = Math.min(img.width, img.height);
      const cut = Math.round(side * (1 - 0.08 * r));
      const canvas = new OffscreenCanvas(500, 500);
      const ctx = canvas.getContext('2d');
      ctx.filter = `hue-rotate(${r * 47}deg)`;
      if (r % 2) { ctx.translate(500, 0); ctx.scale(-1, 1); }
      ctx.drawImage(img, (img.width - cut) / 2, (img.height - cut) / 2, cut, cut, 0, 0, 500, 500);
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
      const bytes = new Uint8Array(await blob.arrayBuffer());
      let s = '';
      for (const b of bytes) s += String.fromCharCode(b);
      return btoa(s);
    }, { data: sources[i % SAMPLES.length], mime: type, r: round });
    const file = path.join(dir, `cover-${String(i).padStart(2, '0')}.jpg`);
    fs.writeFileSync(file, Buffer.from(b64, 'base64'));
    files.push(file);
  }
  await page.close();
  return files;
}

async function landing(browser, base) {
  const context = await browser.newContext();  // empty cache
  const page = await context.newPage();
  const t0 = Date.now();
  await page.goto(base, { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready]');
  const wall = Date.now() - t0;
  const m = await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const all = [nav, ...resources];
    return {
      requests: all.length,
      transfer_bytes: all.reduce((s, e) => s + (e.transferSize || 0), 0),
      body_bytes: all.reduce((s, e) => s + (e.decodedBodySize || 0), 0),
      first_contentful_paint_ms: fcp ? Math.round(fcp.startTime) : null,
      dom_content_loaded_ms: Math.round(nav.domContentLoadedEventEnd),
      load_ms: Math.round(nav.loadEventEnd),
    };
  });
  await context.close();
  return { ...m, ready_wall_ms: wall };
}

async function submitAndWait(page, files) {
  const t0 = Date.now();
  await page.setInputFiles('#files', files);
  await page.waitForSelector('#collage[data-ready]', { timeout: 1_800_000 });
  const ms = Date.now() - t0;
  const images = await page.$$eval('#collage img', (l) => l.length);
  const failed = await page.$$eval('#covers li.failed', (l) => l.length);
  return { ms, images, failed_covers: failed };
}

async function main() {
  const dir = scratchDir('web-bench');
  const browser = await launchBrowser();
  let up = null;
  try {
    const files = await makeCovers(browser, dir, covers);
    up = await startUp({
      bin, dataDir: path.join(dir, 'data'), modelSize,
      extraArgs: workers ? ['--function-workers', workers] : [],
    });
    const page = await browser.newPage();
    await page.goto(up.base);
    await page.waitForSelector('body[data-ready]');

    const reports0 = up.reports();
    const cold = await submitAndWait(page, files);
    cold.invocations = up.reports() - reports0;
    await page.click('#again');
    const reports1 = up.reports();
    const warm = await submitAndWait(page, files);
    warm.invocations = up.reports() - reports1;
    const page_metrics = await landing(browser, up.base);
    const result = { covers, model_size: modelSize || 'default', cold, warm, page: page_metrics };
    console.log(JSON.stringify(result));
    check(cold.images > 0 && warm.images > 0, 'no collage');
  } finally {
    await browser.close();
    if (up) await up.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error('web_bench: FAIL:', err.message);
  process.exit(1);
});
