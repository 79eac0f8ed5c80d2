// The backend's JSON API (src/web/API.md) as small async functions. Every failure becomes an
// ApiError whose message is written for people, whatever went wrong (HTTP error, network).

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

// What to tell the user for each error code.
const EXPLAIN = {
  function_down: 'The AI function is not answering right now. Please try again in a moment.',
  function_error: 'The AI function failed on these covers.',
  no_usable_covers: 'None of these covers could be used: the reason is under each one.',
  store_error: 'The image store did not answer as expected.',
  too_large: 'That upload is too large.',
  too_many_files: 'Too many covers at once.',
  unsupported_type: 'That file is not a JPEG, PNG or WebP image.',
  bad_image: 'That file is not an image we can read.',
  bad_url: 'That address cannot be used.',
  busy: 'Sparkify is busy with other collages. Please try again in a minute.',
  shutting_down: 'The Sparkify server is stopping.',
  server_stopped: 'The server making this collage stopped before it finished. Please make it again.',
  spotify_session: 'Your Spotify session has ended; please sync again.',
  spotify_error: 'Spotify did not answer as expected.',
  not_found: 'That collage no longer exists.',
  network: 'The Sparkify server cannot be reached. Is it still running?',
};

// Codes whose server message already speaks to the user about their input (shown alone).
const SELF_EXPLAINED = new Set(['too_large', 'too_many_files', 'unsupported_type', 'bad_image',
  'bad_url', 'bad_request']);
// Codes whose server message is a technical detail the reader can do nothing with.
const LEAD_ONLY = new Set(['function_down', 'no_usable_covers', 'busy', 'shutting_down',
  'network', 'not_found']);

export function explain(error) {
  const lead = EXPLAIN[error.code];
  if (error.message && (SELF_EXPLAINED.has(error.code) || !lead)) return error.message;
  if (!lead) return 'Something went wrong.';
  if (LEAD_ONLY.has(error.code) || !error.message || error.message === lead) return lead;
  return `${lead} (${error.message})`;
}

async function request(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError('network', '', 0);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // Not JSON (a proxy's page, an empty body): described by the status below.
  }
  if (!response.ok) {
    const err = data && data.error ? data.error : {};
    throw new ApiError(err.code || `http_${response.status}`,
      err.message || `The server answered ${response.status}.`, response.status);
  }
  return data;
}

export const getConfig = () => request('GET', '/api/config');
export const getJob = (id) => request('GET', `/api/jobs/${encodeURIComponent(id)}`);
export const regenerate = (id) =>
  request('POST', `/api/jobs/${encodeURIComponent(id)}/regenerate`);
export const share = (id) => request('POST', `/api/jobs/${encodeURIComponent(id)}/share`);
export const downloadUrl = (id) => `/api/jobs/${encodeURIComponent(id)}/download`;

export function createJobFromFiles(files) {
  const form = new FormData();
  for (const file of files) form.append('file', file, file.name);
  return request('POST', '/api/jobs', form);
}

// The image type of a file by its first bytes (as the server checks it), so a cover named
// .png that is really a JPEG is declared as what it is; '' for anything else.
async function sniffType(file) {
  const b = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const ascii = (from, to) => String.fromCharCode(...b.subarray(from, to));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b[0] === 0x89 && ascii(1, 4) === 'PNG') return 'image/png';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  return '';
}

// The store's S3 error message, from its XML answer.
async function storeError(response) {
  try {
    const xml = new DOMParser().parseFromString(await response.text(), 'application/xml');
    const message = xml.querySelector('Error > Message');
    if (message && message.textContent) return message.textContent;
  } catch {
    // Not XML: said by the status below.
  }
  return `The image store answered ${response.status}.`;
}

// Thrown when the store cannot be reached from the page at all (it has no CORS rule for this
// origin, or is down): the caller sends the files through the web app instead.
export class StoreUnreachable extends Error {}

// Sends each file to the bucket with its signed form; the keys of those stored. A file the
// server or the store refused is added to `refused` ({name, reason}). `onSent(n, total)` before
// the first and after each.
async function sendToBucket(uploads, files, refused, onSent) {
  const stored = [];
  const total = uploads.filter((u) => !u.error).length;
  let sent = 0;
  onSent(0, total);
  let next = 0;
  let unreachable = false;
  const worker = async () => {
    while (next < uploads.length && !unreachable) {
      const i = next++;
      const upload = uploads[i];
      if (upload.error) {
        refused.push({ name: upload.name, reason: upload.error.message });
        continue;
      }
      const form = new FormData();
      for (const [name, value] of upload.fields) form.append(name, value);
      form.append('file', files[i], files[i].name);
      let response;
      try {
        // The extra header makes the browser ask the store first (a CORS preflight): a store
        // that does not allow this page fails then, before any byte of the file is sent.
        response = await fetch(upload.url, {
          method: 'POST', body: form, credentials: 'omit', headers: { 'X-Sparkify-Upload': '1' },
        });
      } catch {
        unreachable = true;
        return;
      }
      if (response.ok) {
        stored.push({ index: i, key: upload.key, token: upload.token, name: upload.name });
      } else {
        refused.push({ name: upload.name, reason: await storeError(response) });
      }
      onSent(++sent, total);
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, uploads.length) }, worker));
  if (unreachable) throw new StoreUnreachable();
  return stored.sort((a, b) => a.index - b.index).map(({ key, token, name }) => ({ key, token, name }));
}

// Direct upload: a signed form per file from the web app (POST /api/uploads), the files sent
// straight to the bucket (4 at a time; the web app never carries them), then a job of the
// stored keys. Refused files are added to `refused`. Throws StoreUnreachable when the page
// cannot reach the store at all.
export async function createJobFromFilesDirect(files, refused, onSent = () => {}) {
  // A file that does not start as an image does is refused here, whatever its name: it is
  // not sent anywhere.
  const typed = await Promise.all(files.map(async (file) => ({ file, type: await sniffType(file) })));
  const images = typed.filter((t) => t.type);
  for (const t of typed) {
    if (!t.type) refused.push({ name: t.file.name, reason: 'This file is not a JPEG, PNG or WebP image.' });
  }
  if (!images.length) {
    throw new ApiError('unsupported_type', refused.map((r) => `${r.name}: ${r.reason}`).join(' '),
      415);
  }
  const described = images.map(({ file, type }) => ({ name: file.name, size: file.size, type }));
  let uploads;
  try {
    ({ uploads } = await request('POST', '/api/uploads', { files: described }));
  } catch (err) {
    if (err.status === 404) throw new StoreUnreachable();  // the server no longer offers it
    throw err;
  }
  const stored = await sendToBucket(uploads, images.map((t) => t.file), refused, onSent);
  if (!stored.length) {
    throw new ApiError('bad_image', refused.length === 1 ? refused[0].reason
      : 'None of the files could be stored. ' + refused.map((r) => `${r.name}: ${r.reason}`)
        .join(' '), 400);
  }
  return request('POST', '/api/jobs', { uploads: stored });
}
export const createJobFromUrls = (urls) => request('POST', '/api/jobs', { urls });
export const createSampleJob = () => request('POST', '/api/jobs', { sample: true });
export const createSpotifyJob = () => request('POST', '/api/jobs', { source: 'spotify' });

// Calls onJob with every state of the job until it is done or failed: server-sent events, or
// polling when the stream breaks before the end. Returns a function that stops watching.
export function watchJob(id, onJob, onError) {
  let stopped = false;
  let source = null;
  let timer = 0;
  const finished = (job) => job.state === 'done' || job.state === 'failed';
  const stop = () => {
    stopped = true;
    if (source) source.close();
    clearTimeout(timer);
  };
  const poll = async () => {
    if (stopped) return;
    try {
      const job = await getJob(id);
      if (stopped) return;
      onJob(job);
      if (finished(job)) return stop();
    } catch (err) {
      if (err.code !== 'network') return (stop(), onError(err));
    }
    timer = setTimeout(poll, 1000);
  };
  if ('EventSource' in window) {
    source = new EventSource(`/api/jobs/${encodeURIComponent(id)}/events`);
    source.addEventListener('job', (event) => {
      if (stopped) return;
      const job = JSON.parse(event.data);
      onJob(job);
      if (finished(job)) stop();
    });
    source.onerror = () => {
      if (stopped) return;
      source.close();
      source = null;
      poll();
    };
  } else {
    poll();
  }
  return stop;
}
