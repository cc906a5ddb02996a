-- GET with the access token in BENCH_TOKEN.
dofile("bench/wrk/report.lua")
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
