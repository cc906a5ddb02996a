-- Sends the requests of BENCH_REQUESTS round and round, each thread from
-- its own place in the file, so that every question of the set is asked in
-- turn. Prints load.sh's RESULT line (bench/wrk/report.lua).
dofile("bench/peers/wrk/requests.lua")
dofile("bench/wrk/report.lua")

local reqs, i
function init(args)
  reqs = load_requests(os.getenv("BENCH_REQUESTS"), false)
  i = math.floor(#reqs * id / tonumber(os.getenv("BENCH_THREADS")))
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end
