-- wrk report for `make bench`: when the run ends, print one line "BENCH_RESULT {json}" with the
-- throughput, latency percentiles (wrk measures microseconds; printed in milliseconds) and the
-- error counters. No request() or response() hook: those would slow wrk itself down.
--
-- Scenario scripts (wrk_quiz.lua) load this file and call bench_report() from their own done(),
-- adding their own error counters (which fail the measurement like wrk's) and details.

local function json_value(value)
  if type(value) == "number" then
    return string.format("%.17g", value)
  end
  local text = tostring(value):gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end)
  return '"' .. text .. '"'
end

local function json_fields(fields)
  local parts = {}
  for name, value in pairs(fields or {}) do
    table.insert(parts, string.format(', "%s": %s', name, json_value(value)))
  end
  table.sort(parts)
  return table.concat(parts)
end

function bench_report(summary, latency, extra_errors, details)
  local seconds = summary.duration / 1e6
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_s": %.6f, "bytes": %d, "requests_per_s": %.3f, '
      .. '"latency_ms": {"p50": %.3f, "p95": %.3f, "p99": %.3f, "mean": %.3f, "max": %.3f}, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d%s}%s}\n',
    summary.requests, seconds, summary.bytes, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.mean / 1000, latency.max / 1000,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout, json_fields(extra_errors),
    details and (', "details": {' .. json_fields(details):sub(3) .. '}') or ''))
end

done = function(summary, latency, requests)
  bench_report(summary, latency)
end
