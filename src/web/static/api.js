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
