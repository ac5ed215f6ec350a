-- What the wrk scripts of scripts/bench-intake and scripts/bench-introductions share, loaded by
-- each with dofile (one copy per wrk thread's Lua state). Each script keeps, as globals that
-- done() reads from every thread: thread_id, counter (requests sent), accepted, statuses.
local ffi = require("ffi")
ffi.cdef [[ int kill(int pid, int sig); int getpid(void); ]]

local M = {}
M.threads = {}

-- wrk's setup(): numbers the threads.
function M.setup(thread)
  table.insert(M.threads, thread)
  thread:set("thread_id", #M.threads)
end

-- Headers without the blank line that ends them: the server waits for the rest, so a
-- connection with nothing left to send is parked without adding to what is measured.
M.parked = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"

-- Ends the run once every request has its answer: wrk would otherwise wait out -d.
function M.stop_run()
  wrk.thread:stop()
  ffi.C.kill(ffi.C.getpid(), 2)  -- SIGINT: wrk's main thread stops waiting out -d
end

-- The RESULT line done() prints: {"requests", "duration_s", "accepted", "p50_ms", "p99_ms",
-- "max_ms", "statuses", "errors", "sent": [[thread, requests sent], ...]}, then `extra` (text
-- of further "name":value fields, or nil).
function M.result(summary, latency, extra)
  local total, sent, ok = {}, {}, 0
  for _, t in ipairs(M.threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
    ok = ok + t:get("accepted")
    table.insert(sent, string.format("[%d,%d]", t:get("thread_id"), t:get("counter")))
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, string.format('"%d":%d', k, v)) end
  table.sort(parts)
  local e = summary.errors
  return string.format(
    'RESULT {"requests":%d,"duration_s":%.3f,"accepted":%d,"p50_ms":%.2f,"p99_ms":%.2f,' ..
    '"max_ms":%.2f,"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"timeout":%d},"sent":[%s]%s}\n',
    summary.requests, summary.duration / 1e6, ok, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout, table.concat(sent, ","),
    extra and ("," .. extra) or "")
end

return M
