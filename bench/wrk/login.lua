-- POST /v1/auth/login as BENCH_USERNAME with BENCH_PASSWORD.
dofile("bench/wrk/report.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"username":"%s","password":"%s"}', os.getenv("BENCH_USERNAME"), os.getenv("BENCH_PASSWORD"))
