-- wrk script for bench/store_bench.sh.
--   BENCH_METHOD    GET or PUT (default GET)
--   BENCH_BODY      file whose bytes are every request's body (PUT)
--   BENCH_REQUESTS  file from `sparkify_bench_sign requests`: one request a line, the
--                   request-target then tab-separated "name: value" headers.
-- One line: that request is replayed as is on every connection (wrk's static fast path).
-- Several lines: wrk thread n of N takes lines n, n+N, ... and hands them out in turn, so
-- concurrent PUTs address different keys (moto 5.2.1 answers 500 to some concurrent
-- overwrites of one key: "I/O operation on closed file").
-- done() prints one machine-readable line the bench script parses:
--   RESULT requests=N seconds=S bytes=B rps=R mbps=M p50_ms=.. p99_ms=.. mean_ms=..
--          errors_connect=.. errors_read=.. errors_write=.. errors_status=.. errors_timeout=..

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

local function parse_line(line)
  local fields = {}
  for field in line:gmatch("[^\t]+") do fields[#fields + 1] = field end
  local headers = {}
  for i = 2, #fields do
    local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
    -- The signer's "host" is the Host wrk must send: one key, wrk's own spelling.
    if name:lower() == "host" then name = "Host" end
    headers[name] = value
  end
  return fields[1], headers
end

local method = os.getenv("BENCH_METHOD") or "GET"
local body = nil
local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then body = read_file(body_file) end

local requests_file = os.getenv("BENCH_REQUESTS")
assert(requests_file and requests_file ~= "", "BENCH_REQUESTS not set")
local lines = {}
for line in io.lines(requests_file) do
  if line ~= "" then lines[#lines + 1] = line end
end

if #lines == 1 then
  local path, headers = parse_line(lines[1])
  wrk.method = method
  wrk.path = path
  wrk.body = body
  for name, value in pairs(headers) do wrk.headers[name] = value end
else
  local counter = 0
  function setup(thread)
    thread:set("thread_index", counter)
    counter = counter + 1
  end

  local requests, next_request = {}, 1

  function init(args)
    local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
    for i = 1 + (thread_index or 0), #lines, threads do
      local path, headers = parse_line(lines[i])
      if not headers["Host"] then headers["Host"] = wrk.headers["Host"] end
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
  end

  function request()
    local r = requests[next_request]
    next_request = next_request % #requests + 1
    return r
  end
end

function done(summary, latency, requests_)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f bytes=%d rps=%.1f mbps=%.2f p50_ms=%.3f p99_ms=%.3f " ..
    "mean_ms=%.3f errors_connect=%d errors_read=%d errors_write=%d errors_status=%d " ..
    "errors_timeout=%d\n",
    summary.requests, s, summary.bytes, summary.requests / s, summary.bytes / s / 1048576,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
