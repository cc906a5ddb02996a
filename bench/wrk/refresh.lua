-- POST /v1/auth/refresh, each request with an unspent refresh token: the
-- tokens of BENCH_TOKENS (one a line, one login each) are dealt out to the
-- threads, and every answer's new refresh token goes back into its thread's
-- pool. A token is never sent twice, so rotation works as in production and
-- reuse detection never fires; a failed refresh loses its token and shows
-- as errors. wrk calls request() once on the first thread before the run
-- to check pipelining, which spends one token: load.sh mints one more a thread.
dofile("bench/wrk/report.lua")

local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local pool = {}
function init(args)
  local threads = tonumber(os.getenv("BENCH_THREADS"))
  local i = 0
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    if line ~= "" and i % threads == id then
      pool[#pool + 1] = line
    end
    i = i + 1
  end
end

function request()
  local token = table.remove(pool) or "spent"
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refresh":"([^"]+)"')
  if token then
    pool[#pool + 1] = token
  end
end
