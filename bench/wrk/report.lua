-- Shared by every scenario: print one line load.sh collects,
-- "RESULT <scenario>\t<req/s>\t<p50 ms>\t<p99 ms>\t<errors>", where errors
-- counts non-2xx/3xx answers and socket errors.
function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.status + e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT %s\t%.1f\t%.3f\t%.3f\t%d\n", os.getenv("BENCH_NAME") or "?",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, errors))
end
