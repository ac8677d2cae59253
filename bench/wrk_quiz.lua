-- wrk scenario for `make bench`: learners starting and submitting attempts at the bench quiz.
--
-- A cycle is two requests, both measured:
--   POST <quiz>/attempts        csrf_token                          -> 302 to <quiz>/attempts/<n>
--   POST <quiz>/attempts/<n>    csrf_token, action=submit, answers  -> 302 to <quiz>/attempts/<n> (the review)
-- <n> is read from the start's Location header in response().
--
-- Learners: a learner has at most one open attempt per quiz (a second start resumes it), so two
-- connections sharing a learner would resume, submit and grade each other's attempts. Each
-- connection therefore has learners of its own. wrk's Lua state is per thread and request() is not
-- told which connection it builds for, so the bench runs wrk with -t equal to -c: one connection
-- per thread, and a thread's globals are its connection's state. Thread i (1-based) takes the
-- learners i, i + T, i + 2T, ... (T threads) and moves to its next learner after each submit.
--
-- Anything else than those two redirects (another status, a redirect elsewhere, e.g. to /login or
-- back to the quiz page with an error) is counted as "unexpected", which fails the measurement;
-- the next request is then a start again (which resumes an open attempt).
--
-- Arguments after wrk's "--": the quiz path, the answer fields (url-encoded), the thread count T,
-- then for each learner its "Cookie" header value and its url-encoded CSRF token. The User-Agent
-- is taken from wrk's -H options (Flask-Login's session protection compares it).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_report.lua")

-- setup() and done() run in wrk's main Lua state, the rest in each thread's own state.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  quiz_path, answers = args[1], args[2]
  local thread_count = tonumber(args[3])
  if not quiz_path or quiz_path:sub(1, 9) ~= "/courses/" or not thread_count then
    error("wrk_quiz.lua: expected arguments <quiz path> <answers> <threads> (<cookie> <csrf token>)...")
  end
  learners = {}
  local index = 0
  for i = 4, #args - 1, 2 do
    if index % thread_count == thread_number - 1 then
      local headers = {["Cookie"] = args[i], ["Content-Type"] = "application/x-www-form-urlencoded"}
      for name, value in pairs(wrk.headers) do
        if headers[name] == nil then headers[name] = value end
      end
      local token = "csrf_token=" .. args[i + 1]
      table.insert(learners, {
        headers = headers,
        start = wrk.format("POST", quiz_path .. "/attempts", headers, token),  -- the same every time
        submit_body = token .. "&action=submit&" .. answers,
      })
    end
    index = index + 1
  end
  if #learners == 0 then
    error("wrk_quiz.lua: no learner for thread " .. thread_number .. " (give at least as many learners as threads)")
  end
  current = 1  -- this thread's learner
  attempt_path = nil  -- the open attempt to submit next, or nil: start one
  pending = nil  -- what the request in flight is: "start" or "submit"
  cycles, unexpected, first_unexpected = 0, 0, nil
end

function request()
  local learner = learners[current]
  if attempt_path == nil then
    pending = "start"
    return learner.start
  end
  pending = "submit"
  return wrk.format("POST", attempt_path, learner.headers, learner.submit_body)
end

local function location_of(headers)
  return headers["Location"] or headers["location"]
end

function response(status, headers, body)
  local location = location_of(headers)
  if status == 302 and location then
    if pending == "start" then
      local number = location:match("/attempts/(%d+)$")
      if number and location:find(quiz_path .. "/attempts/", 1, true) then
        attempt_path = quiz_path .. "/attempts/" .. number
        return
      end
    elseif pending == "submit" and location:sub(-#attempt_path) == attempt_path then
      attempt_path = nil
      cycles = cycles + 1
      current = current % #learners + 1
      return
    end
  end
  unexpected = unexpected + 1
  if first_unexpected == nil then
    first_unexpected = string.format("%s (%s) answered %d%s", pending or "?", attempt_path or quiz_path .. "/attempts",
                                     status, location and (" to " .. location) or "")
  end
  attempt_path = nil
end

done = function(summary, latency, requests)
  local total_cycles, total_unexpected, example = 0, 0, nil
  for _, thread in ipairs(threads) do
    total_cycles = total_cycles + (thread:get("cycles") or 0)
    total_unexpected = total_unexpected + (thread:get("unexpected") or 0)
    example = example or thread:get("first_unexpected")
  end
  local details = {cycles = total_cycles, threads = #threads}
  if example then details.first_unexpected = example end
  bench_report(summary, latency, {unexpected = total_unexpected}, details)
end
