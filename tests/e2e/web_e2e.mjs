// End to end: `sparkify up` on free ports, the page in a real headless chromium.
//   node tests/e2e/web_e2e.mjs            (SPARKIFY_BIN=build/sparkify, optional
//                                          SPARKIFY_E2E_ARTIFACTS=dir for the screenshots)
// Uploads sample covers, waits for the collage, checks that it and its actions fill the first
// screen at 1366x768 and on a 375 px phone, that every image comes from the store through a
// presigned URL (and the unsigned URL is refused), that Regenerate makes a new layout without
// invoking the function again, that Download gives the PNG the page draws, that a share link
// on the app's own origin opens in a fresh browser, that a partial upload goes on with a
// reason per refused file, that the same picture twice is in the collage once, and that the
// page's messages (failed covers, unknown links, a function that is down) are words.
import { execFileSync } from 'node:child_process';
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

// The `count` images in `selector` decoded and a frame painted with them. `complete` and
// `naturalWidth` say an image arrived, not that it is drawn: a screenshot right after them once
// showed a whole-cover card blank white at 1366x768.
async function imagesPainted(page, selector, count) {
  const { found, failed } = await page.$$eval(selector, async (list) => {
    const results = await Promise.allSettled(list.map((i) => i.decode()));
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    return {
      found: list.length,
      failed: results.flatMap((r, k) => (r.status === 'rejected' ? [list[k].src] : [])),
    };
  });
  check(found === count, `${found} images in ${selector}, not ${count}`);
  check(failed.length === 0, `images that do not decode: ${failed}`);
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

// The collage and its four actions are entirely inside the first screen, without scrolling.
async function checkFirstScreen(page, what) {
  const { width, height } = page.viewportSize();
  const boxes = await page.evaluate(() => {
    window.scrollTo(0, 0);
    return ['#collage', '#regenerate', '#download', '#share', '#again'].map((id) => {
      const r = document.querySelector(id).getBoundingClientRect();
      return { id, top: r.top, left: r.left, bottom: r.bottom, right: r.right };
    });
  });
  for (const b of boxes) {
    check(b.top >= 0 && b.left >= 0 && b.bottom <= height && b.right <= width,
      `${what}: ${b.id} is not in the first ${width}x${height} screen: ${JSON.stringify(b)}`);
  }
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  check(scroll <= width, `${what}: the page scrolls sideways (${scroll} px wide)`);
  const collage = boxes[0];
  return Math.round(collage.right - collage.left);
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

// Debian's awscli with the store's root key (the data dir's root-credentials.json).
function rootAws(up, dataDir, args) {
  const creds = JSON.parse(fs.readFileSync(path.join(dataDir, 'root-credentials.json'), 'utf8'));
  return execFileSync('/usr/bin/aws', ['--endpoint-url', up.storeOrigin, '--region', 'us-east-1',
    '--output', 'json', ...args], {
    encoding: 'utf8',
    env: {
      ...process.env, AWS_ACCESS_KEY_ID: creds.access_key_id,
      AWS_SECRET_ACCESS_KEY: creds.secret_access_key, AWS_CONFIG_FILE: '/nonexistent',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
}

// A bucket without the CORS rule (a store set up by hand, say): the browser's preflight fails,
// so no byte reaches the store, and the page sends the files through the web app instead.
async function noCorsFallback(up, dataDir, browser) {
  const directKeys = () => JSON.parse(rootAws(up, dataDir, ['s3api', 'list-objects-v2',
    '--bucket', 'sparkify', '--prefix', 'uploads/direct/']) || '{}').KeyCount || 0;
  const before = directKeys();
  rootAws(up, dataDir, ['s3api', 'delete-bucket-cors', '--bucket', 'sparkify']);
  const context = await browser.newContext();  // no preflight cached from the steps before
  const page = await context.newPage();
  const posts = [];
  page.on('request', (r) => {
    if (r.method() === 'POST') posts.push({ url: r.url(), type: r.headers()['content-type'] || '' });
  });
  await page.goto(up.base);
  await page.waitForSelector('body[data-ready]');
  await page.setInputFiles('#files', samplePaths(['coins.png', 'rocket.jpg']));
  await waitForCollage(page);
  const throughApp = posts.filter((p) => p.url.startsWith(`${up.base}/api/jobs`) &&
    p.type.startsWith('multipart/')).length;
  check(throughApp === 1, `no upload through the web app: ${JSON.stringify(posts)}`);
  check(directKeys() === before, 'files reached the store although it refused the page');
  check(await page.evaluate(() => sessionStorage.getItem('sparkify-store-unreachable')) === '1',
    'the page does not remember that the store is out of its reach');
  await context.close();
  log('no bucket CORS: the files went through the web app, none to the store');
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
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 },
      acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Where the page sends files: the store (signed POST forms) or the web app (multipart).
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push({ url: r.url(), type: r.headers()['content-type'] || '' });
    });
    const uploadsSince = (from) => ({
      toStore: posts.slice(from).filter((p) => p.url.startsWith(`${up.storeOrigin}/`)).length,
      throughApp: posts.slice(from).filter((p) => p.url.startsWith(`${up.base}/api/jobs`) &&
        p.type.startsWith('multipart/')).length,
    });
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
    await page.screenshot({ path: path.join(artifacts, 'start-desktop.png') });

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
    check(/huge\.jpg/.test(tooLarge) && /limit/.test(tooLarge),
      `no size message for a too-large file: ${tooLarge}`);
    check(await page.isHidden('#progress'), 'a too-large file started a job');

    // A file that is not an image (whatever its name) is refused by the server, and said so.
    const notImage = path.join(dataDir, 'notes.png');
    fs.writeFileSync(notImage, 'these are not pixels');
    await page.setInputFiles('#files', notImage);
    await page.waitForFunction(() => {
      const m = document.querySelector('#message');
      return !m.hidden && /notes\.png/.test(m.textContent);
    });
    log('bad file message:', await page.textContent('#message'));

    // Four sample covers: each tile fills as its cover is ready, then the collage and its
    // actions take the first screen.
    const started = Date.now();
    const postsBefore = posts.length;
    await page.setInputFiles('#files',
      samplePaths(['astronaut.png', 'chelsea.png', 'coffee.png', 'horse.png']));
    await page.waitForSelector('#progress:not([hidden])');
    check(await page.isHidden('#start'), 'the upload form stays on top while the job runs');
    const rows = await page.$$eval('#covers li', (lis) => lis.length);
    check(rows === 4, `progress shows ${rows} covers, not 4`);
    await page.waitForSelector('#covers li.done .thumb img', { timeout: 120_000 }).catch(() => {});
    const previews = await page.$$eval('#covers li .thumb img', (l) => l.length);
    await page.screenshot({ path: path.join(artifacts, 'progress-desktop.png') });
    await waitForCollage(page);
    log(`collage after ${Date.now() - started} ms (${previews} tile(s) filled before it)`);
    check(previews > 0 || (await page.isHidden('#progress')), 'no tile showed its cut-out');
    const sent = uploadsSince(postsBefore);
    check(sent.toStore === 4 && sent.throughApp === 0,
      `the covers did not go straight to the store: ${JSON.stringify(sent)}`);
    check(await page.isHidden('#progress'), 'progress still shown after the collage');
    const side = await checkFirstScreen(page, '1366x768');
    log(`1366x768: the collage is ${side} px and its actions are on the first screen`);
    check(side >= 600, `the collage is only ${side} px on a 1366x768 screen`);

    const imgs = await page.$$eval('#collage img', (list) => list.map((i) => ({
      src: i.src, alt: i.alt, loaded: i.complete && i.naturalWidth > 0,
    })));
    check(imgs.length === 4, `${imgs.length} images in the collage, not 4`);
    for (const i of imgs) {
      check(i.loaded, `image not loaded: ${i.src}`);
      check(i.alt.trim().length > 0, `image without alt text: ${i.src}`);
    }
    await checkPresigned(up, imgs.map((i) => i.src));
    const chips = await page.$$eval('#palette li', (l) => l.map((c) => c.textContent));
    check(chips.length > 1 && /^background #[0-9a-f]{6}$/.test(chips[0]),
      `the palette does not start with the background colour: ${chips}`);
    const collageJson = await (await fetch(`${up.base}/api/jobs/${encodeURIComponent(
      decodeURIComponent(new URL(page.url()).hash.replace(/^#job=/, '')))}`)).json();
    const hex = `#${collageJson.collage.ground.center.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
    check(chips[0] === `background ${hex}`, `background chip ${chips[0]}, collage ground ${hex}`);
    log('collage:', imgs.length, 'images,', chips.length, 'palette chips');
    await imagesPainted(page, '#collage img', 4);
    await page.screenshot({ path: path.join(artifacts, 'collage-desktop.png') });

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

    // Download: a PNG attachment, 1080 px.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const saved = path.join(artifacts, 'download.png');
    await download.saveAs(saved);
    const downloadWidth = checkPng(fs.readFileSync(saved), 'the download');
    check(downloadWidth === 1080, `the download is ${downloadWidth} px, not 1080`);

    // The browser's drawing and the server's PNG of the same layout agree (ground, frame line,
    // shadows, framed prints, marks): the page's collage is much closer to the PNG than the
    // previous layout is.
    const shot = await page.locator('#collage').screenshot();
    const png = fs.readFileSync(saved);
    const same = await imageDistance(page, shot, png);
    const other = await imageDistance(page, firstShot, png);
    log(`page vs PNG: mean difference ${same.toFixed(1)} (previous layout: ${other.toFixed(1)})`);
    check(same < 6 && same * 3 < other,
      `the page and the PNG disagree (${same.toFixed(1)} vs ${other.toFixed(1)})`);

    // Share: a short link on the app's own origin (copied, and shown with its lifetime) that
    // opens in a fresh browser as a page showing the collage, with a link preview image.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: up.base });
    await page.click('#share');
    await page.waitForFunction(() => document.querySelector('#share-url').value !== '');
    const shareUrl = await page.inputValue('#share-url');
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    check(copied === shareUrl, 'the share link was not copied to the clipboard');
    check(new URL(shareUrl).origin === up.base && /^\/s\/[A-Za-z0-9_.-]+$/.test(new URL(shareUrl).pathname),
      `share link ${shareUrl} is not on the app's origin`);
    check(shareUrl.length < 200, `the share link is ${shareUrl.length} characters long`);
    const note = await page.textContent('#share-note');
    check(/7 days/.test(note), `the share note does not say how long the link lives: ${note}`);
    await page.screenshot({ path: path.join(artifacts, 'shared-desktop.png') });
    const stranger = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const visit = await stranger.newPage();
    visit.on('pageerror', (e) => problems.push(`share page error: ${e.message}`));
    const opened = await visit.goto(shareUrl);
    check(opened.status() === 200, `the share page answered ${opened.status()}`);
    await visit.waitForFunction(() => {
      const i = document.querySelector('#shared-collage');
      return i && i.complete && i.naturalWidth > 0;
    });
    const natural = await visit.$eval('#shared-collage', (i) => i.naturalWidth);
    check(natural === 1080, `the shared picture is ${natural} px, not 1080`);
    const ogImage = await visit.getAttribute('meta[property="og:image"]', 'content');
    check(ogImage === `${shareUrl}.png`, `og:image is ${ogImage}`);
    const preview = await fetch(ogImage);
    check(preview.status === 200, `og:image answered ${preview.status}`);
    check(checkPng(Buffer.from(await preview.arrayBuffer()), 'og:image') === 1080, 'og:image size');
    const lifetime = await visit.textContent('figcaption');
    check(/until/.test(lifetime), `the share page does not say until when: ${lifetime}`);
    await visit.screenshot({ path: path.join(artifacts, 'share-page.png') });
    const forged = await visit.goto(`${shareUrl.slice(0, -4)}AAAA`);
    const forgedText = await visit.textContent('body');
    check(forged.status() === 404 && /No such collage/.test(forgedText) && !/<\?xml|Error>/.test(forgedText),
      `a forged share link answered ${forged.status()}: ${forgedText.slice(0, 200)}`);
    await stranger.close();
    log(`download ${downloadWidth} px, share page ${shareUrl.length} chars, og:image ${natural} px`);
    const jobId = decodeURIComponent(new URL(page.url()).hash.replace(/^#job=/, ''));
    check(jobId, 'the page did not keep the job in its address');

    // The same collage on a phone: the collage and its actions on the first screen.
    const phone = await browser.newContext({ viewport: { width: 375, height: 667 },
      deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const phonePage = await phone.newPage();
    phonePage.on('pageerror', (e) => problems.push(`phone page error: ${e.message}`));
    await phonePage.goto(`${up.base}/#job=${encodeURIComponent(jobId)}`);
    await phonePage.waitForSelector('#collage[data-ready]');
    const phoneSide = await checkFirstScreen(phonePage, '375x667');
    check(phoneSide >= 340, `the collage is only ${phoneSide} px wide on a 375 px phone`);
    for (const id of ['#regenerate', '#download', '#share', '#again']) {
      const box = await phonePage.locator(id).boundingBox();
      check(box && box.height >= 44, `${id} is smaller than a finger on a phone`);
    }
    await imagesPainted(phonePage, '#collage img', 4);
    await phonePage.screenshot({ path: path.join(artifacts, 'collage-phone.png') });

    // An unknown (or expired) job link says so in words.
    await phonePage.goto(`${up.base}/#job=0123abcd`);  // the same page: a hash change
    await phonePage.waitForSelector('#message:not([hidden])');
    const unknown = await phonePage.textContent('#message');
    check(/unknown or has expired/.test(unknown), `an unknown job link says: ${unknown}`);
    check(await phonePage.isVisible('#start'), 'an unknown job link does not show the form');
    await phone.close();

    // Keyboard: the controls are reachable with Tab and show where focus is.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    check(focused, 'Tab does not reach a control');

    // A partial upload: the good files go on, every refused one is listed with its own reason
    // (one refused by the page, one by the server), and the same picture twice counts once.
    await page.click('#again');
    const fakePng = path.join(dataDir, 'fake.png');
    fs.writeFileSync(fakePng, 'not pixels either');
    const textFile = path.join(dataDir, 'lyrics.txt');
    fs.writeFileSync(textFile, 'la la la');
    const twice = path.join(dataDir, 'coffee-again.png');
    fs.copyFileSync(samplePaths(['coffee.png'])[0], twice);
    await page.setInputFiles('#files',
      [...samplePaths(['coffee.png', 'rocket.jpg']), fakePng, textFile, twice]);
    await waitForCollage(page);
    const leftOut = await page.$$eval('#left-out-list li', (l) => l.map((i) => i.textContent));
    log('left out:', JSON.stringify(leftOut));
    const reasonOf = (name) => leftOut.find((t) => t.startsWith(name));
    check(reasonOf('fake.png') && /not a JPEG, PNG or WebP|cannot be read|not an image/i.test(reasonOf('fake.png')),
      `fake.png has no reason: ${leftOut}`);
    check(reasonOf('lyrics.txt') && /not a JPEG, PNG or WebP/.test(reasonOf('lyrics.txt')),
      `lyrics.txt has no reason: ${leftOut}`);
    check(reasonOf('coffee-again.png') && /same picture as cover 1/.test(reasonOf('coffee-again.png')),
      `the second coffee is not said to be a duplicate: ${leftOut}`);
    const partial = await page.$$eval('#collage img', (l) => l.map((i) => i.alt));
    check(partial.length === 2, `a partial upload made ${partial.length} images, not 2: ${partial}`);
    await checkFirstScreen(page, '1366x768, with covers left out');
    await page.screenshot({ path: path.join(artifacts, 'partial-desktop.png') });

    // A cover that cannot be fetched is left out with its reason; a long address wraps.
    await page.click('#again');
    const longPath = `${'a-very-long-album-cover-path-segment/'.repeat(12)}missing.jpg`;
    await page.fill('#urls', `${fake.base}/img/rocket.jpg\n${fake.base}/img/${longPath}`);
    await page.click('#url-form button[type=submit]');
    await waitForCollage(page);
    const failedNote = await page.textContent('#left-out-list');
    check(/missing\.jpg|a-very-long/.test(failedNote) && /no such image/.test(failedNote),
      `the missing cover is not listed with its reason: ${failedNote}`);
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 1366, `a long address stretches the page to ${wide} px`);
    log('failed cover:', failedNote);

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
    check(/AI function is not answering/.test(down) && !/connection refused/.test(down),
      `no plain function-down message: ${down}`);
    await page.unroute('**/api/jobs');

    await spotifyFlow(up, fake, browser);
    await noCorsFallback(up, dataDir, browser);

  } finally {
    await browser.close();
    await fake.close();
    const status = await up.stop();
    log('sparkify up stopped:', JSON.stringify(status));
    if (status.code !== 0) problems.push(`sparkify up exited with ${JSON.stringify(status)}`);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  check(problems.length === 0, problems.join('\n'));
  log('screenshots in', artifacts);
  log('PASS');
}

main().catch((err) => {
  console.error('e2e: FAIL:', err.message);
  process.exit(1);
});
