-- The wrk script of scripts/bench-introductions (run with one wrk thread). LIST holds the
-- introductions to ask for, one a line "API_KEY REQUISITION NODE REF"
-- (scripts/bench_introductions_seed.py); each becomes
--   POST /api/v1/introductions  Authorization: Bearer API_KEY
--   {"requisition":"REQUISITION","node":"NODE","ref":"REF"}
-- built once in init().
--   MODE=once   sends each line once, in order, then ends the run when every one has its
--               answer (wrk would otherwise wait out -d): a connection with nothing left to
--               send is parked on an unfinished request, so that nothing else is measured.
--               For the node: a second request for a pair would be already_introduced, and
--               the lines spend exactly the members' credits.
--   MODE=cycle  takes the lines in turn for wrk's -d, starting over at the end (bare-intake,
--               which does not look at the body).
-- A response is accepted when its status is ACCEPT (201 for the node, 303 for bare-intake). With
-- IDS set, the id of every accepted introduction ("id":"i_...") is appended to that file, so
-- the checks afterwards can find each one. done() prints one line: RESULT {"requests",
-- "duration_s", "accepted", "p50_ms", "p99_ms", "max_ms", "statuses", "errors", "sent":
-- [[thread, requests sent], ...], "listed"}.
-- bench_wrk.lua, next to this script.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "bench_wrk.lua")

local mode = os.getenv("MODE") or "once"
local accept = tonumber(os.getenv("ACCEPT") or "201")
local ids_path = os.getenv("IDS")
local requests = {}
local ids = nil
-- Globals: done() reads each thread's copy.
thread_id = 0
counter = 0
answered = 0
accepted = 0
listed = 0
statuses = {}
setup = common.setup

function init(args)
  for line in io.lines(os.getenv("LIST")) do
    local key, requisition, node, ref = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    if key then
      requests[#requests + 1] = wrk.format("POST", "/api/v1/introductions",
        {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"},
        '{"requisition":"' .. requisition .. '","node":"' .. node .. '","ref":"' .. ref .. '"}')
    end
  end
  listed = #requests
  if ids_path and ids_path ~= "" then
    ids = assert(io.open(ids_path, "a"))
    ids:setvbuf("line")  -- wrk never closes a thread's state: each id reaches the file at once
  end
end

-- wrk calls request() once in thread 1 before the run, to count the requests it returns
-- (pipelining): that one is never sent, so it takes no line.
local verified = false

request = function()
  if thread_id == 1 and not verified then
    verified = true
    return wrk.format("GET", "/healthz")
  end
  if mode == "cycle" then
    counter = counter + 1
    return requests[(counter - 1) % #requests + 1]
  end
  if counter >= #requests then return common.parked end
  counter = counter + 1
  return requests[counter]
end

response = function(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  if status == accept then
    accepted = accepted + 1
    if ids then
      local id = body:match('"id":"(i_%x+)"')
      if id then ids:write(id, "\n") end
    end
  end
  if mode == "once" and answered == #requests then common.stop_run() end
end

done = function(summary, latency, requests)
  io.write(common.result(summary, latency,
    string.format('"listed":%d', common.threads[1]:get("listed"))))
end
