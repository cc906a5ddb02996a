-- POST /v1/authz/check: may the caller (BENCH_TOKEN) read user 2?
dofile("bench/wrk/report.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.body = '{"resource":"users","action":"read","owner_id":2}'
