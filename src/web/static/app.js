// Sparkify's page: add covers (drop, pick, paste URLs, samples, Spotify), follow the job's
// progress, show the collage with its palette, and Regenerate / Download / Share it.
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
  shareNote: $('share-note'),
};

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);
const IMAGE_NAME = /\.(jpe?g|png|webp)$/i;
const STATE_TEXT = {
  queued: 'waiting', stored: 'uploaded', segmenting: 'cutting out', done: 'ready', failed: 'failed',
};

let config = { max_files: 30, max_file_bytes: 10 * 1024 * 1024, samples: false, spotify: false };
let job = null;        // the job being shown
let stopWatching = null;
let busy = false;

const megabytes = (n) => `${(n / (1024 * 1024)).toFixed(n < 1024 * 1024 ? 2 : 1)} MB`;

function showMessage(text, kind = 'error') {
  el.message.textContent = text;
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

// --- Starting a job -------------------------------------------------------------------------

// Client-side checks mirror the server's limits, so a wrong file is explained before upload.
function checkFiles(list) {
  const files = [...list];
  const problems = [];
  const good = [];
  for (const f of files) {
    if (!IMAGE_TYPES.has(f.type) && !IMAGE_NAME.test(f.name)) {
      problems.push(`“${f.name}” is not a JPEG, PNG or WebP image.`);
    } else if (f.size > config.max_file_bytes) {
      problems.push(`“${f.name}” is ${megabytes(f.size)}; the limit is ` +
        `${megabytes(config.max_file_bytes)} per cover.`);
    } else if (f.size === 0) {
      problems.push(`“${f.name}” is empty.`);
    } else {
      good.push(f);
    }
  }
  if (good.length > config.max_files) {
    problems.push(`That is ${good.length} covers; at most ${config.max_files} fit in one ` +
      `collage, so only the first ${config.max_files} are used.`);
    good.length = config.max_files;
  }
  return { good, problems };
}

// Creates a job with `create` and follows it; false (and a message shown) when that failed.
async function start(create) {
  if (busy) return false;
  clearMessage();
  setBusy(true);
  try {
    follow(await create());
    return true;
  } catch (err) {
    setBusy(false);
    showMessage(api.explain(err));
    return false;
  }
}

function startFromFiles(list) {
  const { good, problems } = checkFiles(list);
  if (!good.length) {
    showMessage(problems.join(' ') || 'No images were given.');
    return;
  }
  start(() => api.createJobFromFiles(good)).then((started) => {
    if (started && problems.length) showMessage(`Skipped: ${problems.join(' ')}`, 'warning');
  });
}

function startFromUrls(text) {
  const urls = text.split(/\s+/).map((s) => s.trim()).filter(Boolean);
  if (!urls.length) {
    showMessage('Paste at least one image URL (one per line).');
    el.urls.focus();
    return;
  }
  const bad = urls.filter((u) => !/^https?:\/\/\S+$/i.test(u));
  if (bad.length) {
    showMessage(`Not an http(s) URL: ${bad.slice(0, 3).join(', ')}`);
    el.urls.focus();
    return;
  }
  if (urls.length > config.max_files) {
    showMessage(`At most ${config.max_files} URLs fit in one collage.`);
    return;
  }
  start(() => api.createJobFromUrls(urls));
}

// --- Following a job ------------------------------------------------------------------------

function follow(created) {
  job = created;
  history.replaceState(null, '', `#job=${encodeURIComponent(created.id)}`);
  el.result.hidden = true;
  el.progress.hidden = false;
  el.summary.textContent = 'Starting…';
  showProgress(created);
  if (stopWatching) stopWatching();
  stopWatching = api.watchJob(created.id, onJob, (err) => {
    setBusy(false);
    showMessage(api.explain(err));
  });
}

function showProgress(j) {
  const covers = j.covers || [];
  const finished = covers.filter((c) => c.state === 'done' || c.state === 'failed').length;
  el.bar.max = Math.max(1, covers.length);
  el.bar.value = finished;
  el.summary.textContent = covers.length
    ? `${finished} of ${covers.length} covers processed.`
    : 'Waiting for the covers…';
  // Update rows in place, so assistive technology is not flooded on every event.
  while (el.covers.children.length > covers.length) el.covers.lastElementChild.remove();
  covers.forEach((c, i) => {
    let li = el.covers.children[i];
    if (!li) {
      li = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'name';
      const state = document.createElement('span');
      state.className = 'state';
      li.append(name, ' ', state);
      el.covers.append(li);
    }
    li.className = `cover-row ${c.state}`;
    li.querySelector('.name').textContent = c.name || `Cover ${c.index + 1}`;
    const why = c.error && c.error.message ? `: ${c.error.message}` : '';
    li.querySelector('.state').textContent = `${STATE_TEXT[c.state] || c.state}${why}`;
  });
}

async function onJob(j) {
  job = j;
  showProgress(j);
  if (j.state === 'failed') {
    setBusy(false);
    el.summary.textContent = 'No collage could be made.';
    showMessage(api.explain(j.error || { message: 'The job failed.' }));
    return;
  }
  if (j.state !== 'done' || !j.collage) return;
  const failed = (j.covers || []).filter((c) => c.state === 'failed');
  if (failed.length) {
    showMessage(`${failed.length} cover(s) failed and were left out: ` +
      failed.map((c) => c.name || `cover ${c.index + 1}`).join(', ') + '.', 'warning');
  }
  await showCollage(j.collage, true);
}

async function showCollage(collage, focus) {
  el.progress.hidden = true;
  el.result.hidden = false;
  el.shareBox.hidden = true;
  el.download.href = api.downloadUrl(job.id);
  drawPalette(el.palette, collage.palette || []);
  el.caption.textContent = 'Loading the images…';
  delete el.collage.dataset.ready;
  el.collage.setAttribute('aria-busy', 'true');
  if (focus) el.resultTitle.focus();
  const loaded = await drawCollage(el.collage, collage);
  el.collage.removeAttribute('aria-busy');
  const broken = loaded.filter((ok) => !ok).length;
  const n = collage.items.length;
  el.caption.textContent = `${n} image${n === 1 ? '' : 's'} on their dominant colour.` +
    (broken ? ` ${broken} could not be loaded (the links may have expired: Regenerate).` : '');
  el.collage.dataset.seed = String(collage.seed);
  el.collage.dataset.ready = 'true';
  setBusy(false);
}

// --- Collage actions ------------------------------------------------------------------------

async function onRegenerate() {
  if (!job || busy) return;
  clearMessage();
  setBusy(true);
  try {
    const collage = await api.regenerate(job.id);
    job.collage = collage;
    await showCollage(collage, false);
  } catch (err) {
    setBusy(false);
    showMessage(api.explain(err));
  }
}

async function onShare() {
  if (!job || busy) return;
  clearMessage();
  setBusy(true);
  el.shareNote.textContent = 'Rendering the picture…';
  el.shareBox.hidden = false;
  try {
    const shared = await api.share(job.id);
    el.shareUrl.value = shared.url;
    const until = shared.expires_at ? new Date(shared.expires_at).toLocaleString() : '';
    let copied = false;
    try {
      await navigator.clipboard.writeText(shared.url);
      copied = true;
    } catch {
      // No clipboard permission: the link is in the box, selected, to copy by hand.
    }
    el.shareNote.textContent = (copied ? 'Link copied.' : 'Copy the link above.') +
      (until ? ` It works until ${until}.` : '');
    if (!copied) el.shareUrl.select();
  } catch (err) {
    el.shareBox.hidden = true;
    showMessage(api.explain(err));
  } finally {
    setBusy(false);
  }
}

function startOver() {
  if (stopWatching) stopWatching();
  job = null;
  history.replaceState(null, '', location.pathname);
  el.result.hidden = true;
  el.progress.hidden = true;
  el.collage.replaceChildren();
  delete el.collage.dataset.ready;
  clearMessage();
  setBusy(false);
  el.files.value = '';
  $('start-title').scrollIntoView();
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
      if (text) startFromUrls(text);
    }
  });
  // A file dropped beside the zone must not make the browser leave the page.
  for (const type of ['dragover', 'drop']) {
    document.addEventListener(type, (e) => e.preventDefault());
  }
  // Pasting outside a text field: image files start a job; image URLs go into the URL box.
  document.addEventListener('paste', (e) => {
    if (e.target.closest && e.target.closest('textarea, input')) return;
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
}

async function init() {
  wire();
  try {
    config = { ...config, ...(await api.getConfig()) };
  } catch (err) {
    showMessage(api.explain(err));
  }
  el.limits.textContent = `JPEG, PNG or WebP images, up to ${config.max_files} covers of at ` +
    `most ${megabytes(config.max_file_bytes)} each.`;
  el.samples.hidden = !config.samples;
  el.spotify.hidden = !config.spotify;

  const params = new URLSearchParams(location.search);
  const resume = /^#job=(.+)$/.exec(location.hash);
  if (params.get('spotify') === 'connected' && config.spotify_connected) {
    history.replaceState(null, '', location.pathname);
    start(api.createSpotifyJob);
  } else if (params.get('spotify') === 'error') {
    history.replaceState(null, '', location.pathname);
    showMessage('Spotify sign-in did not complete. Please try again.');
  } else if (resume) {
    try {
      const j = await api.getJob(decodeURIComponent(resume[1]));
      setBusy(true);
      follow(j);  // the watcher reports its current state at once, collage included
    } catch {
      history.replaceState(null, '', location.pathname);
    }
  }
  document.body.dataset.ready = 'true';
}

init();
