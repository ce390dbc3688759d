-- Prints one machine-readable line at the end of a wrk run (read by bench/lib/wrk.ts).
-- Used alone for fixed requests (headers given with -H) and included by flood.lua.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local generated = 0
  for _, t in ipairs(threads) do
    generated = generated + (t:get("generated") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '\nBENCH_JSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,' ..
      '"status":%d,"timeout":%d,"p50Us":%d,"p99Us":%d,"generated":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), generated))
end
