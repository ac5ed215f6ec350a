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
local ffi = require("ffi")
ffi.cdef [[ int kill(int pid, int sig); int getpid(void); ]]

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
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

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

-- Headers without the blank line that ends them: the server waits for the rest.
local parked = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
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
  if counter >= #requests then return parked end
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
  if mode == "once" and answered == #requests then
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), 2)  -- SIGINT: wrk's main thread stops waiting out -d
  end
end

done = function(summary, latency, requests)
  local total, sent, ok, n = {}, {}, 0, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
    ok = ok + t:get("accepted")
    n = t:get("listed")
    table.insert(sent, string.format("[%d,%d]", t:get("thread_id"), t:get("counter")))
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%d":%d', k, v)) end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"accepted":%d,"p50_ms":%.2f,"p99_ms":%.2f,' ..
    '"max_ms":%.2f,"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"timeout":%d},"sent":[%s],"listed":%d}\n',
    summary.requests, summary.duration / 1e6, ok, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout, table.concat(sent, ","), n))
end
