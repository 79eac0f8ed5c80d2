// A loopback stand-in for Spotify's accounts and Web API, enough for "Sync with Spotify":
//   GET  /authorize       -> 302 back to redirect_uri with a code and the state (or, when
//                            `tamperState` is set, a different state)
//   POST /api/token       -> checks the code, client and the PKCE verifier against the
//                            S256 challenge, returns an access token
//   GET  /v1/me/top/tracks -> the user's top tracks (Bearer token), album images served below
//   GET  /img/NAME        -> the sample photo NAME (the album covers)
// It records what it saw, for the test to check.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';

const b64url = (buf) => buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_')
  .replace(/=+$/, '');

export async function startFakeSpotify({ clientId, clientSecret, samplesDir, albums }) {
  const codes = new Map();   // code -> {challenge, redirectUri}
  const tokens = new Set();
  const seen = { authorize: 0, token: 0, tokenRefused: [], topTracks: 0, images: 0 };
  const fake = { seen, tamperState: false };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://fake');
    const json = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let body = '';
    for await (const chunk of req) body += chunk;

    if (req.method === 'GET' && url.pathname === '/authorize') {
      seen.authorize++;
      const q = url.searchParams;
      if (q.get('client_id') !== clientId || q.get('response_type') !== 'code' ||
          q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') ||
          !q.get('state') || !q.get('redirect_uri')) {
        return json(400, { error: 'invalid_request', seen: Object.fromEntries(q) });
      }
      const code = b64url(crypto.randomBytes(16));
      codes.set(code, { challenge: q.get('code_challenge'), redirectUri: q.get('redirect_uri') });
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('code', code);
      back.searchParams.set('state', fake.tamperState ? `${q.get('state')}x` : q.get('state'));
      res.writeHead(302, { Location: back.href });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/api/token') {
      seen.token++;
      const form = new URLSearchParams(body);
      let id = form.get('client_id');
      let secret = form.get('client_secret');
      const basic = /^Basic (.+)$/.exec(req.headers.authorization || '');
      if (basic) [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':');
      const entry = codes.get(form.get('code'));
      const refuse = (why) => {
        seen.tokenRefused.push(why);
        json(400, { error: 'invalid_grant', error_description: why });
      };
      if (form.get('grant_type') !== 'authorization_code') return refuse('grant_type');
      if (id !== clientId || (secret !== undefined && secret !== null && secret !== clientSecret)) {
        return refuse('client');
      }
      if (!entry) return refuse('unknown code');
      codes.delete(form.get('code'));
      if (form.get('redirect_uri') !== entry.redirectUri) return refuse('redirect_uri');
      const verifier = form.get('code_verifier') || '';
      const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
      if (challenge !== entry.challenge) return refuse('PKCE verifier');
      const token = b64url(crypto.randomBytes(24));
      tokens.add(token);
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: 3600,
        scope: 'user-top-read' });
    }
    if (req.method === 'GET' && url.pathname === '/v1/me/top/tracks') {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization || '');
      if (!bearer || !tokens.has(bearer[1])) return json(401, { error: { status: 401 } });
      seen.topTracks++;
      const base = `http://127.0.0.1:${server.address().port}`;
      // Two tracks per album (duplicates must be dropped), in rank order.
      const items = albums.flatMap((a, i) => [0, 1].map((t) => ({
        name: `Track ${t} of ${a.name}`,
        album: {
          id: `album${i}`, name: a.name, artists: [{ name: a.artist }],
          images: [
            { url: `${base}/img/${a.file}`, width: 640, height: 640 },
            { url: `${base}/img/${a.file}?small`, width: 64, height: 64 },
          ],
        },
      })));
      return json(200, { items, total: items.length, limit: 50, offset: 0 });
    }
    if (req.method === 'GET' && url.pathname.startsWith('/img/')) {
      const file = path.join(samplesDir, path.basename(url.pathname));
      if (!fs.existsSync(file)) return json(404, {});
      seen.images++;
      res.writeHead(200, { 'Content-Type': file.endsWith('.png') ? 'image/png' : 'image/jpeg' });
      return res.end(fs.readFileSync(file));
    }
    return json(404, { error: 'not found' });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.base = `http://127.0.0.1:${server.address().port}`;
  fake.close = () => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });
  return fake;
}
