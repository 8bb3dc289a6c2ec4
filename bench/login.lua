-- wrk script: POST /api/v1/auth/login with the bench user's credentials (bench/http.sh sets
-- ATP_BENCH_EMAIL and ATP_BENCH_PASSWORD). Counts answers by status so a run that was refused
-- (429 per-user limit, 423 lock) is visible in the summary instead of passing as throughput.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"email":"%s","password":"%s"}', os.getenv("ATP_BENCH_EMAIL"),
                         os.getenv("ATP_BENCH_PASSWORD"))

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  codes = {}
end
function response(status, headers, body)
  codes[status] = (codes[status] or 0) + 1
end
function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("codes")) do
      all[status] = (all[status] or 0) + n
    end
  end
  for status, n in pairs(all) do
    io.write(string.format("status %d: %d\n", status, n))
  end
end
