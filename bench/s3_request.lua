-- wrk script for bench/store_bench.sh: one fixed request replayed on every connection.
--   BENCH_METHOD   GET or PUT (default GET)
--   BENCH_BODY     file whose bytes are the request body (PUT)
--   BENCH_HEADERS  file of "Name: value" lines to send (the SigV4 header-auth headers)
-- done() prints one machine-readable line the script parses:
--   RESULT requests=N seconds=S bytes=B rps=R mbps=M p50_ms=.. p99_ms=.. mean_ms=..
--          errors_connect=.. errors_read=.. errors_write=.. errors_status=.. errors_timeout=..

local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local data = f:read("*a")
  f:close()
  return data
end

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
  wrk.body = read_file(body_file)
end
local headers_file = os.getenv("BENCH_HEADERS")
if headers_file and headers_file ~= "" then
  for line in io.lines(headers_file) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then
      -- "host" from the signer is the Host wrk must send: keep wrk's capitalised key unique.
      if name:lower() == "host" then name = "Host" end
      wrk.headers[name] = value
    end
  end
end

function done(summary, latency, requests)
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
