// Sparkify's page: add covers (drop, pick, paste addresses, samples, Spotify), watch each cover
// being cut out (its tile fills as it finishes), then the collage fills the first screen with
// its actions (Regenerate / Download / Share / Start over), its palette and what was left out.
import * as api from './api.js';
import { drawCollage, drawPalette } from './collage.js';

const $ = (id) => document.getElementById(id);
const el = {
  start: $('start'), limits: $('limits'), dropzone: $('dropzone'), files: $('files'),
  urlForm: $('url-form'), urls: $('urls'), samples: $('samples'), spotify: $('spotify'),
  message: $('message'), progress: $('progress'), summary: $('progress-summary'),
  bar: $('progress-bar'), covers: $('covers'), result: $('result'),
  resultTitle: $('result-title'), collage: $('collage'), caption: $('collage-caption'),
  palette: $('palette'), regenerate: $('regenerate'), download: $('download'),
  share: $('share'), again: $('again'), shareBox: $('share-box'), shareUrl: $('share-url'),
  shareNote: $('share-note'), retry: $('retry'), leftOut: $('left-out'), leftOutList: $('left-out-list'),
};

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);
const IMAGE_NAME = /\.(jpe?g|png|webp)$/i;
const STATE_TEXT = {
  queued: 'Waiting', stored: 'Uploaded', segmenting: 'Cutting out…', done: 'Ready',
  failed: 'Left out',
};

let config = {
  max_files: 30, max_file_bytes: 10 * 1024 * 1024, samples: false, spotify: false,
  share_link_seconds: 7 * 24 * 3600, finished_job_seconds: 24 * 3600,
};
let job = null;         // the job being shown
// Bumped whenever the page moves to another job (or none): an answer that arrives for an
// earlier one (a Regenerate, a Share, a collage still loading) is then dropped.
let generation = 0;
let refusedHere = [];   // files this page refused before upload: {name, reason}
let stopWatching = null;
let busy = false;

const megabytes = (n) => `${+(n / (1024 * 1024)).toFixed(n < 1024 * 1024 ? 2 : 1)} MB`;
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

// A message above everything: a lead sentence, and optionally one line per detail.
function showMessage(text, kind = 'error', details = []) {
  el.message.replaceChildren();
  if (text) {
    el.message.append(text);
    for (const d of details) {
      const line = document.createElement('span');
      line.className = 'more';
      line.textContent = d;
      el.message.append(line);
    }
  }
  el.message.className = `message ${kind}`;
  el.message.hidden = !text;
}
const clearMessage = () => showMessage('');

function setBusy(value) {
  busy = value;
  for (const b of [el.samples, el.spotify, el.regenerate, el.share]) b.disabled = value;
  el.urlForm.querySelector('button').disabled = value;
  el.files.disabled = value;
  el.dropzone.classList.toggle('disabled', value);
}

// Which of the three views shows: the start form, a job's progress, or its collage.
function showView(name) {
  el.start.hidden = name !== 'start';
  el.progress.hidden = name !== 'progress';
  el.result.hidden = name !== 'result';
}

// A duration in plain words: "7 days", "1 hour", "90 seconds".
function duration(seconds) {
  for (const [unit, size] of [['day', 86400], ['hour', 3600], ['minute', 60]]) {
    if (seconds >= size && seconds % size === 0) return plural(seconds / size, unit);
  }
  return plural(seconds, 'second');
}

// --- Starting a job -------------------------------------------------------------------------

// Client-side checks mirror the server's limits, so a wrong file is explained before upload;
// each refused file keeps its own reason.
function checkFiles(list) {
  const good = [];
  const refused = [];
  for (const f of [...list]) {
    let reason = '';
    if (f.size === 0) {
      reason = 'This file is empty.';
    } else if (!IMAGE_TYPES.has(f.type) && !IMAGE_NAME.test(f.name)) {
      reason = 'This is not a JPEG, PNG or WebP image.';
    } else if (f.size > config.max_file_bytes) {
      reason = `This file is ${megabytes(f.size)}; the limit is ` +
        `${megabytes(config.max_file_bytes)} per cover.`;
    }
    if (reason) refused.push({ name: f.name, reason });
    else good.push(f);
  }
  if (good.length > config.max_files) {
    for (const f of good.splice(config.max_files)) {
      refused.push({ name: f.name, reason: `Only ${config.max_files} covers fit in a collage.` });
    }
  }
  return { good, refused };
}

// Creates a job with `create` and follows it; false (and a message shown) when that failed.
async function start(create, refused = []) {
  if (busy) return false;
  const made = generation;
  clearMessage();
  setBusy(true);
  try {
    const created = await create();
    if (made !== generation) return false;  // Start over while it was being sent
    refusedHere = refused;
    clearMessage();  // an upload's progress
    follow(created);
    return true;
  } catch (err) {
    if (made !== generation) return false;
    setBusy(false);
    showMessage(api.explain(err));
    return false;
  }
}

function startFromFiles(list) {
  const { good, refused } = checkFiles(list);
  if (!good.length) {
    if (!refused.length) {
      showMessage('No images were given.');
    } else {
      showMessage(refused.length === 1 ? 'This file cannot be used.' :
        'None of these files can be used.', 'error',
      refused.map((r) => `${r.name}: ${r.reason}`));
    }
    return;
  }
  start(() => sendFiles(good, refused), refused);
}

// Straight to the bucket when the server offers it, else (or when the page cannot reach the
// store: remembered for this tab) through the web app.
const STORE_UNREACHABLE = 'sparkify-store-unreachable';
async function sendFiles(files, refused) {
  const made = generation;
  const direct = config.direct_uploads && !sessionStorage.getItem(STORE_UNREACHABLE);
  if (direct) {
    const before = refused.length;
    try {
      return await api.createJobFromFilesDirect(files, refused, (n, total) => {
        if (made === generation) {
          showMessage(`Sending covers to the image store: ${n} of ${total}.`, 'progress');
        }
      });
    } catch (err) {
      if (!(err instanceof api.StoreUnreachable)) throw err;
      console.warn('The image store cannot be reached from this page; uploading through Sparkify.');
      sessionStorage.setItem(STORE_UNREACHABLE, '1');
      refused.splice(before);
      if (made === generation) clearMessage();
    }
  }
  const total = files.reduce((sum, f) => sum + f.size, 0);
  if (total > config.max_upload_bytes) {
    throw new api.ApiError('too_large', `These files come to ${megabytes(total)}; through ` +
      `Sparkify itself at most ${megabytes(config.max_upload_bytes)} go at once. Choose fewer.`, 413);
  }
  return api.createJobFromFiles(files);
}

function startFromUrls(text) {
  // One address per line (a line may not be split on its spaces: it is one entry).
  const urls = text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (!urls.length) {
    showMessage('Paste at least one image address, one per line.');
    el.urls.focus();
    return;
  }
  if (urls.length > config.max_files) {
    showMessage(`That is ${urls.length} addresses; at most ${config.max_files} fit in one ` +
      'collage.');
    el.urls.focus();
    return;
  }
  // The server checks each line and leaves out the ones that are not web addresses, each with
  // its reason; only when none is, the request is refused.
  start(() => api.createJobFromUrls(urls));
}

// --- Following a job ------------------------------------------------------------------------

function follow(created) {
  generation += 1;
  job = created;
  history.replaceState(null, '', `#job=${encodeURIComponent(created.id)}`);
  el.covers.replaceChildren();
  el.retry.hidden = true;
  showView('progress');
  window.scrollTo(0, 0);
  el.summary.textContent = 'Starting…';
  showProgress(created);
  if (stopWatching) stopWatching();
  stopWatching = api.watchJob(created.id, onJob, (err) => {
    setBusy(false);
    el.retry.hidden = false;
    showMessage(api.explain(err));
  });
}

// Every cover of the job (then the files refused here) as a tile: its name, its state in
// words, and its picture (the cut-out, or the whole cover) once it is ready.
function coverTiles(j) {
  const tiles = (j.covers || []).map((c) => ({
    key: `c${c.index}`,
    name: c.name || `Cover ${c.index + 1}`,
    state: c.state,
    text: c.state === 'failed' && c.error ? c.error.message :
      (c.note || STATE_TEXT[c.state] || c.state),
    preview: c.state === 'done' && c.preview ? c.preview : null,
  }));
  for (const [i, r] of refusedHere.entries()) {
    tiles.push({ key: `r${i}`, name: r.name, state: 'failed', text: r.reason, preview: null });
  }
  return tiles;
}

function showProgress(j) {
  const tiles = coverTiles(j);
  const covers = j.covers || [];
  const finished = covers.filter((c) => c.state === 'done' || c.state === 'failed').length;
  const ready = covers.filter((c) => c.state === 'done').length;
  el.bar.max = Math.max(1, covers.length);
  el.bar.value = finished;
  if (j.waiting_ahead !== undefined) {
    el.summary.textContent = j.waiting_ahead > 0
      ? `Many collages are being made right now: yours starts after ${plural(j.waiting_ahead, 'other')}.`
      : 'Many collages are being made right now: yours is next.';
  } else {
    el.summary.textContent = covers.length
      ? `${ready} of ${plural(covers.length, 'cover')} ready.`
      : 'Waiting for the covers…';
  }
  // Update tiles in place, so assistive technology is not flooded on every event.
  while (el.covers.children.length > tiles.length) el.covers.lastElementChild.remove();
  tiles.forEach((t, i) => {
    let li = el.covers.children[i];
    if (!li || li.dataset.key !== t.key) {
      li = document.createElement('li');
      li.dataset.key = t.key;
      const thumb = document.createElement('div');
      thumb.className = 'thumb';
      const name = document.createElement('span');
      name.className = 'name';
      const state = document.createElement('span');
      state.className = 'state';
      li.append(thumb, name, state);
      if (el.covers.children[i]) el.covers.children[i].replaceWith(li);
      else el.covers.append(li);
    }
    li.className = `cover-tile ${t.state}`;
    const name = li.querySelector('.name');
    name.textContent = t.name;
    name.title = t.name;
    li.querySelector('.state').textContent = t.text;
    const thumb = li.querySelector('.thumb');
    if (t.preview && !thumb.firstChild) {
      const img = document.createElement('img');
      img.alt = t.preview.cutout ? `Cut-out of ${t.name}` : t.name;
      img.referrerPolicy = 'no-referrer';
      img.decoding = 'async';
      img.src = t.preview.url;
      thumb.append(img);
    }
  });
}

async function onJob(j) {
  job = j;
  showProgress(j);
  if (j.state === 'failed') {
    setBusy(false);
    el.summary.textContent = 'No collage could be made.';
    el.retry.hidden = false;
    showMessage(api.explain(j.error || { message: 'The job failed.' }));
    return;
  }
  if (j.state !== 'done' || !j.collage) return;
  clearMessage();
  await showCollage(j.collage, true, generation);
}

// What was left out of the collage, and why: failed covers, pictures given twice, and files
// refused before upload.
function showLeftOut(j) {
  const items = [];
  for (const c of j.covers || []) {
    const name = c.name || `Cover ${c.index + 1}`;
    if (c.state === 'failed') items.push([name, c.error ? c.error.message : 'It failed.']);
    else if (c.note) items.push([name, c.note]);
  }
  for (const r of refusedHere) items.push([r.name, r.reason]);
  el.leftOutList.replaceChildren(...items.map(([name, why]) => {
    const li = document.createElement('li');
    const strong = document.createElement('strong');
    strong.textContent = name;
    strong.title = name;
    li.append(strong, why);
    return li;
  }));
  el.leftOut.hidden = items.length === 0;
}

// Shows `collage` of the current job; `made` is the generation it belongs to.
async function showCollage(collage, focus, made) {
  if (made !== generation) return;
  showView('result');
  el.shareBox.hidden = true;
  el.download.href = api.downloadUrl(job.id);
  const background = (collage.ground && collage.ground.center) || collage.dominant_color;
  drawPalette(el.palette, collage.palette || [], background);
  showLeftOut(job);
  el.caption.textContent = 'Loading the images…';
  delete el.collage.dataset.ready;
  el.collage.setAttribute('aria-busy', 'true');
  if (focus) {
    window.scrollTo(0, 0);
    el.resultTitle.focus({ preventScroll: true });
  }
  const loaded = await drawCollage(el.collage, collage);
  if (made !== generation) return;  // the page has moved on meanwhile
  el.collage.removeAttribute('aria-busy');
  const broken = loaded.filter((ok) => !ok).length;
  const cutouts = collage.items.filter((i) => i.kind === 'cutout').length;
  const covers = collage.items.length - cutouts;
  const parts = [];
  if (cutouts) parts.push(plural(cutouts, 'cut-out'));
  if (covers) parts.push(plural(covers, 'whole cover'));
  el.caption.textContent = `${parts.join(' and ')} on their dominant colour.` +
    (broken ? ` ${plural(broken, 'image')} could not be loaded: the links may have expired, ` +
      'Regenerate signs new ones.' : '');
  el.collage.dataset.seed = String(collage.seed);
  el.collage.dataset.ready = 'true';
  setBusy(false);
}

// --- Collage actions ------------------------------------------------------------------------

async function onRegenerate() {
  if (!job || busy) return;
  const made = generation;
  clearMessage();
  setBusy(true);
  try {
    const collage = await api.regenerate(job.id);
    if (made !== generation) return;
    job.collage = collage;
    await showCollage(collage, false, made);
  } catch (err) {
    if (made !== generation) return;
    setBusy(false);
    showMessage(api.explain(err));
  }
}

async function onShare() {
  if (!job || busy) return;
  const made = generation;
  clearMessage();
  setBusy(true);
  el.shareNote.textContent = 'Making the picture…';
  el.shareUrl.value = '';
  el.shareBox.hidden = false;
  try {
    const shared = await api.share(job.id);
    if (made !== generation) return;
    el.shareUrl.value = shared.url;
    let copied = false;
    try {
      await navigator.clipboard.writeText(shared.url);
      copied = true;
    } catch {
      // No clipboard permission: the link is in the box, selected, to copy by hand.
    }
    const until = shared.expires_at ? new Date(shared.expires_at).toLocaleDateString(undefined,
      { year: 'numeric', month: 'long', day: 'numeric' }) : '';
    el.shareNote.textContent = (copied ? 'Link copied. ' : 'Copy the link above. ') +
      (shared.local
        ? 'It opens on this computer only, since Sparkify runs here on localhost; it works for ' +
          `${duration(config.share_link_seconds)}` + (until ? `, until ${until}.` : '.')
        : `Anyone with it can see this collage for ${duration(config.share_link_seconds)}` +
          (until ? `, until ${until}.` : '.'));
    if (!copied) el.shareUrl.select();
  } catch (err) {
    if (made !== generation) return;
    el.shareBox.hidden = true;
    showMessage(api.explain(err));
  } finally {
    if (made === generation) setBusy(false);
  }
}

function startOver() {
  if (stopWatching) stopWatching();
  generation += 1;
  job = null;
  refusedHere = [];
  history.replaceState(null, '', location.pathname);
  showView('start');
  el.collage.replaceChildren();
  el.covers.replaceChildren();
  delete el.collage.dataset.ready;
  clearMessage();
  setBusy(false);
  el.files.value = '';
  window.scrollTo(0, 0);
  el.files.focus();
}

// --- Wiring ---------------------------------------------------------------------------------

function wire() {
  el.files.addEventListener('change', () => {
    const picked = [...el.files.files];
    el.files.value = '';  // so that picking the same file again is a change too
    if (picked.length) startFromFiles(picked);
  });
  for (const type of ['dragenter', 'dragover']) {
    el.dropzone.addEventListener(type, (e) => {
      e.preventDefault();
      el.dropzone.classList.add('over');
    });
  }
  for (const type of ['dragleave', 'drop']) {
    el.dropzone.addEventListener(type, () => el.dropzone.classList.remove('over'));
  }
  el.dropzone.addEventListener('drop', (e) => {
    e.preventDefault();
    if (e.dataTransfer.files.length) {
      startFromFiles(e.dataTransfer.files);
    } else {
      const text = e.dataTransfer.getData('text/uri-list') || e.dataTransfer.getData('text/plain');
      if (text) startFromUrls(text.split(/\r?\n/).filter((l) => !l.startsWith('#')).join('\n'));
    }
  });
  // A file dropped beside the zone must not make the browser leave the page.
  for (const type of ['dragover', 'drop']) {
    document.addEventListener(type, (e) => e.preventDefault());
  }
  // Pasting outside a text field: image files start a job; image URLs go into the URL box.
  document.addEventListener('paste', (e) => {
    if (e.target.closest && e.target.closest('textarea, input')) return;
    if (el.start.hidden) return;
    const files = [...(e.clipboardData?.files || [])];
    if (files.length) {
      e.preventDefault();
      startFromFiles(files);
      return;
    }
    const text = e.clipboardData?.getData('text/plain') || '';
    if (/https?:\/\//i.test(text)) {
      e.preventDefault();
      el.urls.value = [el.urls.value.trim(), text.trim()].filter(Boolean).join('\n');
      el.urls.focus();
    }
  });
  el.urlForm.addEventListener('submit', (e) => {
    e.preventDefault();
    startFromUrls(el.urls.value);
  });
  el.samples.addEventListener('click', () => start(api.createSampleJob));
  el.spotify.addEventListener('click', () => {
    if (config.spotify_connected) start(api.createSpotifyJob);
    else location.assign('/auth/spotify/login');
  });
  el.regenerate.addEventListener('click', onRegenerate);
  el.share.addEventListener('click', onShare);
  el.again.addEventListener('click', startOver);
  el.retry.addEventListener('click', startOver);
  // A job link typed or pasted into the address bar of an open page.
  window.addEventListener('hashchange', () => {
    const id = linkedJob();
    if (id === null || (job && id === job.id)) return;
    if (stopWatching) stopWatching();
    generation += 1;
    refusedHere = [];
    setBusy(false);
    clearMessage();
    resume(id);
  });
}

// The job id in the address (#job=ID), or null.
function linkedJob() {
  const linked = /^#job=(.+)$/.exec(location.hash);
  if (!linked) return null;
  try {
    return decodeURIComponent(linked[1]);
  } catch {
    return '';  // a mangled link: no such job
  }
}

async function resume(id) {
  const made = generation;
  try {
    if (!id) throw new api.ApiError('not_found', 'No job in this link.', 404);
    const j = await api.getJob(id);
    if (made !== generation) return;
    setBusy(true);
    follow(j);  // the watcher reports its current state at once, collage included
  } catch (err) {
    if (made !== generation) return;
    history.replaceState(null, '', location.pathname);
    job = null;
    showView('start');
    if (err.code === 'not_found') {
      showMessage('This collage link is unknown or has expired: collages are kept for ' +
        `${duration(config.finished_job_seconds)} after they are made. Make a new one below.`,
      'warning');
    } else {
      showMessage(api.explain(err));
    }
  }
}

async function init() {
  wire();
  try {
    config = { ...config, ...(await api.getConfig()) };
  } catch (err) {
    showMessage(api.explain(err));
  }
  el.limits.textContent = `JPEG, PNG or WebP, up to ${config.max_files} covers of at ` +
    `most ${megabytes(config.max_file_bytes)} each.`;
  el.samples.hidden = !config.samples;
  el.spotify.hidden = !config.spotify;

  const params = new URLSearchParams(location.search);
  const linked = linkedJob();
  if (params.get('spotify') === 'connected' && config.spotify_connected) {
    history.replaceState(null, '', location.pathname);
    start(api.createSpotifyJob);
  } else if (params.get('spotify') === 'error') {
    history.replaceState(null, '', location.pathname);
    showMessage('Spotify sign-in did not complete. Please try again.');
  } else if (linked !== null) {
    await resume(linked);
  }
  document.body.dataset.ready = 'true';
}

init();
