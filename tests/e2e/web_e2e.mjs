// End to end: `sparkify up` on free ports, the page in a real headless chromium.
//   node tests/e2e/web_e2e.mjs            (SPARKIFY_BIN=build/sparkify, optional
//                                          SPARKIFY_E2E_ARTIFACTS=dir for the screenshots)
// Uploads three sample covers, waits for the collage, checks that every image comes from the
// store through a presigned URL (and that the unsigned URL is refused), that Regenerate makes
// a new layout without invoking the function again, that Download and Share give a PNG, that
// the page's error messages show, and that it works on a phone-sized screen.
import fs from 'node:fs';
import path from 'node:path';

import { startFakeSpotify } from './fake_spotify.mjs';
import {
  check, freePort, launchBrowser, samplePaths, samplesDir, scratchDir, startUp,
} from './lib.mjs';

const bin = process.env.SPARKIFY_BIN || path.resolve('build/sparkify');
const artifacts = path.resolve(process.env.SPARKIFY_E2E_ARTIFACTS || 'e2e-artifacts');
fs.mkdirSync(artifacts, { recursive: true });

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const log = (...a) => console.log('e2e:', ...a);

function checkPng(bytes, what) {
  check(bytes.length > 33 && bytes.subarray(0, 8).equals(PNG_SIGNATURE), `${what} is not a PNG`);
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  check(width === height && width >= 400, `${what} is ${width}x${height}, not a square collage`);
  return width;
}

// Waits until the page shows a collage; fails at once with the page's message if the job
// failed instead.
async function waitForCollage(page, timeout = 120_000) {
  await page.waitForFunction(() => document.querySelector('#collage').dataset.ready ||
    document.querySelector('#progress-summary').textContent.startsWith('No collage'),
  null, { timeout });
  if (!(await page.getAttribute('#collage', 'data-ready'))) {
    check(false, `no collage: ${await page.textContent('#message')}`);
  }
}

// Mean absolute difference per channel (0..255) of two PNGs, both drawn at 200x200 by the
// page's own canvas (images from data: URLs are allowed by the CSP and do not taint it).
function imageDistance(page, a, b) {
  return page.evaluate(async ([x, y]) => {
    const pixels = async (b64) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = 200;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0, 200, 200);
      return ctx.getImageData(0, 0, 200, 200).data;
    };
    const [p, q] = [await pixels(x), await pixels(y)];
    let sum = 0;
    for (let i = 0; i < p.length; i += 4) {
      sum += Math.abs(p[i] - q[i]) + Math.abs(p[i + 1] - q[i + 1]) + Math.abs(p[i + 2] - q[i + 2]);
    }
    return sum / (3 * 200 * 200);
  }, [a.toString('base64'), b.toString('base64')]);
}

// The placements as the page drew them (inline styles), to compare layouts.
const layoutOf = (page) => page.$$eval('#collage img', (imgs) =>
  imgs.map((i) => [i.style.left, i.style.top, i.style.width, i.style.transform].join(' ')));

async function checkPresigned(up, srcs) {
  check(srcs.length > 0, 'the collage has no images');
  for (const src of srcs) {
    const url = new URL(src);
    check(url.origin === up.storeOrigin, `${src} is not served by the store (${up.storeOrigin})`);
    for (const p of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires',
      'X-Amz-SignedHeaders', 'X-Amz-Signature']) {
      check(url.searchParams.get(p), `${src} lacks ${p}`);
    }
    check(url.searchParams.get('X-Amz-Algorithm') === 'AWS4-HMAC-SHA256', `${src}: not SigV4`);
    const signed = await fetch(src);
    check(signed.status === 200, `signed ${src} answered ${signed.status}`);
    check(/^image\//.test(signed.headers.get('content-type') || ''), `${src} is not an image`);
    const bare = await fetch(url.origin + url.pathname);
    check(bare.status === 403, `unsigned ${url.pathname} answered ${bare.status}, not 403`);
  }
}

const SPOTIFY_ALBUMS = [
  { name: 'Moonwalk', artist: 'Eileen', file: 'astronaut.png' },
  { name: 'Whiskers', artist: 'Chelsea', file: 'chelsea.png' },
];

// "Sync with Spotify" against the loopback fake: a callback with a wrong state is refused
// (and no code is traded), the right one connects, and the collage is made from the top
// tracks' unique album covers.
async function spotifyFlow(up, fake, browser) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(up.base);
  await page.waitForSelector('body[data-ready]');
  check(await page.isVisible('#spotify'), 'no Sync with Spotify button although configured');

  fake.tamperState = true;
  const tokenCalls = fake.seen.token;
  const [refused] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === '/auth/spotify/callback'),
    page.click('#spotify'),
  ]);
  check(refused.status() === 302 && /[?&]spotify=error&code=spotify_(state|session)$/.test(
    refused.headers().location || ''), `a wrong state answered ${refused.status()}`);
  await page.waitForSelector('body[data-ready]');
  const said = await page.textContent('body');
  check(said.includes('Spotify sign-in did not complete'), 'the page did not explain the error');
  check(fake.seen.token === tokenCalls, 'a wrong state still traded the code for tokens');
  log('spotify: wrong state refused with', refused.status());

  fake.tamperState = false;
  await page.goto(up.base);
  await page.waitForSelector('body[data-ready]');
  await page.click('#spotify');
  await waitForCollage(page);
  check(fake.seen.tokenRefused.length === 0, `token refused: ${fake.seen.tokenRefused}`);
  check(fake.seen.topTracks > 0, 'top tracks never read');
  const rows = await page.$$eval('#covers li', (l) => l.length);
  check(rows === SPOTIFY_ALBUMS.length, `${rows} covers, not the ${SPOTIFY_ALBUMS.length} albums`);
  const cookie = (await context.cookies()).find((c) => c.name === 'sparkify_session');
  check(cookie && cookie.httpOnly && cookie.sameSite !== 'None', 'session cookie not httpOnly/SameSite');
  check(!(await page.evaluate(() => document.cookie)).includes('sparkify_session'),
    'the page script can read the session cookie');
  await checkPresigned(up, await page.$$eval('#collage img', (l) => l.map((i) => i.src)));
  log('spotify: collage from', rows, 'albums');
  await context.close();
}

async function main() {
  const dataDir = scratchDir('e2e');
  const spotify = { clientId: 'e2e-client', clientSecret: 'e2e-secret' };
  const fake = await startFakeSpotify({ ...spotify, samplesDir, albums: SPOTIFY_ALBUMS });
  // Spotify must be told the redirect URI, so the web app's port is chosen here.
  const webPort = await freePort();
  const up = await startUp({
    bin, dataDir, modelSize: 320, webPort,
    env: {
      SPOTIFY_REDIRECT_URI: `http://127.0.0.1:${webPort}/auth/spotify/callback`,
      SPOTIFY_CLIENT_ID: spotify.clientId,
      SPOTIFY_CLIENT_SECRET: spotify.clientSecret,
      SPOTIFY_AUTH_URL: `${fake.base}/authorize`,
      SPOTIFY_TOKEN_URL: `${fake.base}/api/token`,
      SPOTIFY_API_URL: fake.base,
    },
  });
  log('sparkify up serving', up.base);
  const browser = await launchBrowser();
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 },
      acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A CSP violation or any script error is a failure; a refused unsigned image is not ours.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
        problems.push(`console error: ${m.text()}`);
      }
    });
    await page.goto(up.base);
    await page.waitForSelector('body[data-ready]');
    const h1 = await page.textContent('h1');
    check(/Sparkify/.test(h1) && /visualize your music taste/.test(h1), `headline: ${h1}`);

    // Every control is named (label or text), progress is announced politely.
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, textarea, button, a')]
      .filter((c) => !((c.labels && c.labels.length) || c.textContent.trim() || c.getAttribute('aria-label')))
      .map((c) => c.outerHTML));
    check(unnamed.length === 0, `controls without a name: ${unnamed.join(' ')}`);
    check(await page.getAttribute('#progress-summary', 'aria-live') === 'polite', 'no aria-live');

    // Image URLs pasted onto the page land in the URL box.
    await page.evaluate(() => {
      const data = new DataTransfer();
      data.setData('text/plain', 'https://example.com/a.jpg');
      document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
    });
    check(await page.inputValue('#urls') === 'https://example.com/a.jpg', 'pasted URL not taken');
    await page.fill('#urls', '');

    // Client-side refusal of a too-large file, before any upload.
    const config = await (await fetch(`${up.base}/api/config`)).json();
    const big = path.join(dataDir, 'huge.jpg');
    fs.writeFileSync(big, Buffer.alloc(config.max_file_bytes + 1, 0xff));
    await page.setInputFiles('#files', big);
    await page.waitForSelector('#message:not([hidden])');
    const tooLarge = await page.textContent('#message');
    check(/limit/.test(tooLarge), `no size message for a too-large file: ${tooLarge}`);
    check(await page.isHidden('#progress'), 'a too-large file started a job');

    // A file that is not an image is refused by the server, and said so.
    const notImage = path.join(dataDir, 'notes.png');
    fs.writeFileSync(notImage, 'these are not pixels');
    await page.setInputFiles('#files', notImage);
    await page.waitForFunction(() => {
      const m = document.querySelector('#message');
      return !m.hidden && !/limit/.test(m.textContent);
    });
    log('bad file message:', await page.textContent('#message'));

    // Three sample covers.
    const started = Date.now();
    await page.setInputFiles('#files', samplePaths(['astronaut.png', 'chelsea.png', 'coffee.png']));
    await page.waitForSelector('#progress:not([hidden])');
    const rows = await page.$$eval('#covers li', (lis) => lis.length);
    check(rows === 3, `progress lists ${rows} covers, not 3`);
    await waitForCollage(page);
    log(`collage after ${Date.now() - started} ms`);
    check(await page.isHidden('#progress'), 'progress still shown after the collage');

    const imgs = await page.$$eval('#collage img', (list) => list.map((i) => ({
      src: i.src, alt: i.alt, loaded: i.complete && i.naturalWidth > 0,
    })));
    check(imgs.length >= 1 && imgs.length <= 3, `${imgs.length} images in the collage`);
    for (const i of imgs) {
      check(i.loaded, `image not loaded: ${i.src}`);
      check(i.alt.trim().length > 0, `image without alt text: ${i.src}`);
    }
    await checkPresigned(up, imgs.map((i) => i.src));
    const chips = await page.$$eval('#palette li', (l) => l.length);
    check(chips > 0, 'no palette chips');
    const background = await page.$eval('#collage', (c) => getComputedStyle(c).backgroundColor);
    log('collage:', imgs.length, 'images, background', background, chips, 'palette chips');
    await page.screenshot({ path: path.join(artifacts, 'collage-desktop.png'), fullPage: true });

    // Regenerate: a new layout from the same cut-outs, no new function invocation.
    const invocations = up.reports();
    check(invocations > 0, `no REPORT lines in sparkify up's output:\n${up.output()}`);
    const before = await layoutOf(page);
    const firstShot = await page.locator('#collage').screenshot();
    const seed = await page.getAttribute('#collage', 'data-seed');
    await page.click('#regenerate');
    await page.waitForFunction((s) => {
      const c = document.querySelector('#collage');
      return c.dataset.ready && c.dataset.seed !== s;
    }, seed);
    const after = await layoutOf(page);
    check(JSON.stringify(before) !== JSON.stringify(after), 'Regenerate kept the same layout');
    check(up.reports() === invocations,
      `Regenerate invoked the function (${invocations} -> ${up.reports()})`);
    await checkPresigned(up, await page.$$eval('#collage img', (l) => l.map((i) => i.src)));

    // Download: a PNG attachment.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const saved = path.join(artifacts, 'download.png');
    await download.saveAs(saved);
    const downloadWidth = checkPng(fs.readFileSync(saved), 'the download');

    // The browser's drawing and the server's PNG of the same layout agree: the page's collage
    // is much closer to the PNG than the previous layout is.
    const shot = await page.locator('#collage').screenshot();
    const png = fs.readFileSync(saved);
    const same = await imageDistance(page, shot, png);
    const other = await imageDistance(page, firstShot, png);
    log(`page vs PNG: mean difference ${same.toFixed(1)} (previous layout: ${other.toFixed(1)})`);
    check(same < 6 && same * 3 < other,
      `the page and the PNG disagree (${same.toFixed(1)} vs ${other.toFixed(1)})`);

    // Share: the link (copied, and shown) downloads the PNG.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: up.base });
    await page.click('#share');
    await page.waitForFunction(() => document.querySelector('#share-url').value !== '');
    const shareUrl = await page.inputValue('#share-url');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    check(copied === shareUrl, 'the share link was not copied to the clipboard');
    check(new URL(shareUrl).origin === up.storeOrigin, `share link ${shareUrl} not the store's`);
    const shared = await fetch(shareUrl);
    check(shared.status === 200, `share link answered ${shared.status}`);
    const shareWidth = checkPng(Buffer.from(await shared.arrayBuffer()), 'the share link');
    log(`download ${downloadWidth} px, share ${shareWidth} px`);
    const jobId = decodeURIComponent(new URL(page.url()).hash.replace(/^#job=/, ''));
    check(jobId, 'the page did not keep the job in its address');

    // The same collage on a phone: no sideways scrolling, a square that fills the width.
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 },
      deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const phonePage = await phone.newPage();
    phonePage.on('pageerror', (e) => problems.push(`phone page error: ${e.message}`));
    await phonePage.goto(`${up.base}/#job=${encodeURIComponent(jobId)}`);
    await phonePage.waitForSelector('#collage[data-ready]');
    const fit = await phonePage.evaluate(() => {
      const r = document.querySelector('#collage').getBoundingClientRect();
      return { scroll: document.documentElement.scrollWidth, width: r.width, height: r.height };
    });
    check(fit.scroll <= 375, `the phone page scrolls sideways (${fit.scroll} px wide)`);
    check(fit.width >= 300 && Math.abs(fit.width - fit.height) < 1, `collage ${JSON.stringify(fit)}`);
    for (const id of ['#regenerate', '#download', '#share']) {
      const box = await phonePage.locator(id).boundingBox();
      check(box && box.height >= 44 && box.x >= 0 && box.x + box.width <= 375, `${id} on a phone`);
    }
    await phonePage.screenshot({ path: path.join(artifacts, 'collage-phone.png'), fullPage: true });
    await phone.close();

    // Keyboard: the controls are reachable with Tab and show where focus is.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    check(focused, 'Tab does not reach a control');

    // A cover that cannot be fetched is reported as failed; the others still make a collage.
    await page.click('#again');
    await page.fill('#urls', `${fake.base}/img/rocket.jpg\n${fake.base}/img/missing.jpg`);
    await page.click('#url-form button[type=submit]');
    await waitForCollage(page);
    const failedRow = await page.textContent('#covers li.failed');
    check(/missing\.jpg/.test(failedRow), `the missing cover is not marked failed: ${failedRow}`);
    const warning = await page.textContent('#message');
    check(/1 cover\(s\) failed/.test(warning) && /missing\.jpg/.test(warning),
      `no failed-cover message: ${warning}`);
    log('failed cover message:', warning);

    // Without the event stream (a proxy that drops it), the page follows the job by polling.
    await page.route('**/api/jobs/*/events', (route) => route.abort());
    await page.click('#again');
    await page.setInputFiles('#files', samplePaths(['coffee.png', 'rocket.jpg']));
    await waitForCollage(page);
    await page.unroute('**/api/jobs/*/events');
    log('polling fallback: collage shown');

    // A function that is down: the page says so in words (the API answer is simulated here;
    // the backend's own answer is covered by tests/test_web_api.py).
    await page.route('**/api/jobs', (route) => route.fulfill({
      status: 503, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'function_down', message: 'connection refused' } }),
    }));
    await page.click('#again');
    await page.click('#samples');
    await page.waitForSelector('#message:not([hidden])');
    const down = await page.textContent('#message');
    check(/AI function is not answering/.test(down), `no function-down message: ${down}`);
    await page.unroute('**/api/jobs');

    await spotifyFlow(up, fake, browser);

  } finally {
    await browser.close();
    await fake.close();
    const status = await up.stop();
    log('sparkify up stopped:', JSON.stringify(status));
    if (status.code !== 0) problems.push(`sparkify up exited with ${JSON.stringify(status)}`);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  check(problems.length === 0, problems.join('\n'));
  log('screenshots:', path.join(artifacts, 'collage-desktop.png'),
    path.join(artifacts, 'collage-phone.png'));
  log('PASS');
}

main().catch((err) => {
  console.error('e2e: FAIL:', err.message);
  process.exit(1);
});
