-- The mixed load of `python -m bench.scale`: every connection cycles through the given requests
-- (each "path" with its own Cookie header or none), starting at a different one, so the pages are
-- requested in equal shares. Any answer other than 200 is counted as "unexpected" and fails the run
-- (wrk itself does not count a redirect to the login page as an error).
--
-- Arguments after `--`: user agent, then pairs of (path, cookie or "-").

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

-- setup() and done() run in wrk's main Lua state, the rest in each thread's own state.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local requests = {}
local next_request = 1
local unexpected = 0
local first_unexpected = ""

function init(args)
  local agent = args[1]
  for i = 2, #args, 2 do
    local headers = { ["User-Agent"] = agent }
    if args[i + 1] ~= "-" then
      headers["Cookie"] = args[i + 1]
    end
    table.insert(requests, wrk.format("GET", args[i], headers))
  end
  next_request = math.random(#requests)
end

function request()
  local this = requests[next_request]
  next_request = next_request % #requests + 1
  return this
end

function response(status, headers, body)
  if status ~= 200 then
    unexpected = unexpected + 1
    if first_unexpected == "" then
      first_unexpected = tostring(status) .. " " .. (headers["Location"] or "")
    end
  end
end

done = function(summary, latency, requests_made)
  local total = 0
  local example = ""
  for _, thread in ipairs(threads) do
    total = total + (thread:get("unexpected") or 0)
    local first = thread:get("first_unexpected")
    if example == "" and first and first ~= "" then
      example = first
    end
  end
  local details = nil
  if example ~= "" then
    details = { first_unexpected = example }
  end
  bench_report(summary, latency, { unexpected = total }, details)
end
