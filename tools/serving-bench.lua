-- wrk script for tools/serving-bench.sh: posts the JSON infer request held in the file named by
-- SERVING_BENCH_BODY, and prints one machine-readable summary line when the run ends.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = assert(io.open(assert(os.getenv("SERVING_BENCH_BODY"), "SERVING_BENCH_BODY is not set"), "rb"))
wrk.body = file:read("*a")
file:close()

function done(summary, latency, requests)
  local e = summary.errors
  -- requests/s, p50 and p99 in microseconds, responses with status >= 400, socket errors, requests
  io.write(string.format("BENCH %.0f %d %d %d %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout, summary.requests))
end
