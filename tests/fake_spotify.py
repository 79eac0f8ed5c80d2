"""A loopback stand-in for Spotify's accounts and Web API, for the web app's tests.

  GET  /authorize          checks client_id, response_type=code, redirect_uri,
                           code_challenge_method=S256, a state; answers 302 to
                           redirect_uri?code=...&state=... (the state echoed)
  POST /api/token          authorization_code grant: checks the client's Basic auth, the code,
                           the redirect_uri and that SHA-256(code_verifier) is the challenge
                           (PKCE S256); answers {"access_token", "token_type", "expires_in",
                           "refresh_token"}. refresh_token grant: a known refresh token gives a
                           new access token (the old one stops working) and a new refresh token
                           (the old one too); an unknown one is 400 invalid_grant.
                           `expires_in` is what the tokens claim (3600 unless a test lowers it)
  GET  /v1/me/top/tracks   needs "Authorization: Bearer <the token>"; answers `tracks`

Records every request's path in `requests`. Not a Spotify clone: only what the app uses.
"""
import base64
import hashlib
import http.server
import json
import secrets
import threading
import urllib.parse


class FakeSpotify:
    def __init__(self, client_id, client_secret, tracks):
        self.client_id = client_id
        self.client_secret = client_secret
        self.tracks = tracks
        self.requests = []
        self.codes = {}   # code -> (challenge, redirect_uri)
        self.tokens = set()
        self.refresh_tokens = {}  # refresh token -> the access token it replaces
        self.expires_in = 3600
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def json(self, status, doc):
                self.reply(status, json.dumps(doc).encode(), [("Content-Type", "application/json")])

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                fake.requests.append(url.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/authorize":
                    ok = (q.get("client_id") == fake.client_id and q.get("response_type") == "code"
                          and q.get("code_challenge_method") == "S256" and q.get("state")
                          and q.get("code_challenge") and q.get("redirect_uri"))
                    if not ok:
                        return self.json(400, {"error": "invalid_request", "got": q})
                    code = secrets.token_urlsafe(16)
                    fake.codes[code] = (q["code_challenge"], q["redirect_uri"])
                    back = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                        {"code": code, "state": q["state"]})
                    return self.reply(302, b"", [("Location", back)])
                if url.path == "/v1/me/top/tracks":
                    auth = self.headers.get("Authorization", "")
                    if not auth.startswith("Bearer ") or auth[7:] not in fake.tokens:
                        return self.json(401, {"error": {"status": 401, "message": "bad token"}})
                    if q.get("limit") != "50":
                        return self.json(400, {"error": "limit"})
                    return self.json(200, {"items": fake.tracks})
                self.json(404, {"error": "not found"})

            def do_POST(self):
                fake.requests.append(self.path)
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if self.path != "/api/token":
                    return self.json(404, {"error": "not found"})
                basic = base64.b64encode(("%s:%s" % (fake.client_id, fake.client_secret)).encode())
                if self.headers.get("Authorization", "") != "Basic " + basic.decode():
                    return self.json(401, {"error": "invalid_client"})
                if form.get("grant_type") == "refresh_token":
                    old = fake.refresh_tokens.pop(form.get("refresh_token", ""), None)
                    if old is None:
                        return self.json(400, {"error": "invalid_grant"})
                    fake.tokens.discard(old)
                    return self.grant()
                entry = fake.codes.pop(form.get("code", ""), None)
                if form.get("grant_type") != "authorization_code" or entry is None:
                    return self.json(400, {"error": "invalid_grant"})
                challenge, redirect_uri = entry
                verifier = form.get("code_verifier", "")
                computed = base64.urlsafe_b64encode(
                    hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if computed != challenge or form.get("redirect_uri") != redirect_uri:
                    return self.json(400, {"error": "invalid_grant", "why": "pkce or redirect"})
                self.grant()

            def grant(self):
                token = secrets.token_urlsafe(24)
                refresh = secrets.token_urlsafe(24)
                fake.tokens.add(token)
                fake.refresh_tokens[refresh] = token
                self.json(200, {"access_token": token, "token_type": "Bearer",
                                "expires_in": fake.expires_in, "refresh_token": refresh,
                                "scope": "user-top-read"})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def track(album_id, name, image_urls):
    """A /v1/me/top/tracks item whose album has images (url, side) largest last."""
    return {"name": "track of " + name, "album": {
        "id": album_id, "name": name, "artists": [{"name": "Artist " + album_id}],
        "images": [{"url": u, "width": s, "height": s} for u, s in image_urls]}}
