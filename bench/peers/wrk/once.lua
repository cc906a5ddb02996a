-- Sends each request of BENCH_REQUESTS once (the cold-token runs: every
-- line a different user's new token), the threads sharing the lines out,
-- then stops. wrk divides by its whole -d, so the rate is timed here: from
-- each thread's first request to its last answer (CLOCK_MONOTONIC through
-- LuaJIT's ffi). Prints "RESULT <name>\t<req/s>\t<p50 ms>\t<p99 ms>\t<errors>"
-- like bench/wrk/report.lua, and on stderr how many requests were answered.
dofile("bench/peers/wrk/requests.lua")
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } peers_timespec;
int clock_gettime(int clk_id, peers_timespec *tp);
]]
local ts = ffi.new("peers_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local reqs, i, calls = nil, 0, 0
answered, first_us, last_us = 0, 0, 0
function init(args)
  reqs = load_requests(os.getenv("BENCH_REQUESTS"), true, tonumber(os.getenv("BENCH_THREADS")))
end

function request()
  calls = calls + 1
  if i >= #reqs then
    -- This thread's share is spent: stop it. wrk wants a request anyway,
    -- which the stopped loop never completes.
    wrk.thread:stop()
    return reqs[#reqs]
  end
  i = i + 1
  -- wrk calls request() once on thread 0 before the run, to check
  -- pipelining, and never sends that request: the clock starts with the
  -- first request sent.
  if first_us == 0 and not (id == 0 and calls == 1) then first_us = now_us() end
  return reqs[i]
end

function response(status, headers, body)
  answered = answered + 1
  last_us = now_us()
end

function done(summary, latency, requests)
  local first, last, n = math.huge, 0, 0
  for _, t in ipairs(threads) do
    local f, l = t:get("first_us"), t:get("last_us")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
    n = n + t:get("answered")
  end
  local e = summary.errors
  local errors = e.status + e.connect + e.read + e.write + e.timeout
  io.stderr:write(string.format("%s: %d answers in %.2f s\n", os.getenv("BENCH_NAME"), n, (last - first) / 1e6))
  io.write(string.format("RESULT %s\t%.1f\t%.3f\t%.3f\t%d\n", os.getenv("BENCH_NAME") or "?",
    n / ((last - first) / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
