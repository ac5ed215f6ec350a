-- The wrk script of scripts/bench-intake (run with one wrk thread). Paths come from the file
-- LIST, one a line:
--   MODE=register  for wrk's -d, POSTs a registration form (about 240 bytes) to the relay links
--                  of LIST in turn, each form with its own address a<thread>n<counter>@example.jp
--                  (scripts/bench_intake.py rebuilds them from "sent") and its own nonce; with
--                  ROUND=k (bench-intake --rounds) the addresses are r<k>a<thread>n<counter>, so
--                  that each round's are new.
--   MODE=confirm   POSTs once to each path of LIST (the confirmation links /r/v/...), then ends
--                  the run: wrk would otherwise wait out -d. A connection with nothing left to
--                  send is parked on an unfinished request, so that nothing else is measured.
-- With CONSENT_PEERS=yes each form also consents to circulating to peer nodes, so that each
-- confirmation sends the profile to every active peer (bench-intake --peers).
-- A response is accepted when it is a 303 whose Location starts with ACCEPT. done() prints one
-- line: RESULT {"requests", "duration_s", "accepted", "p50_ms", "p99_ms", "max_ms", "statuses",
-- "errors", "sent": [[thread, requests sent], ...]}, and "round" with ROUND.
-- bench_wrk.lua, next to this script.
local common = dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "bench_wrk.lua")

local mode = os.getenv("MODE")
local accept = os.getenv("ACCEPT") or ""
local consent_peers = os.getenv("CONSENT_PEERS") == "yes" and "&consent_peers=yes" or ""
local round = os.getenv("ROUND") or ""
local address_prefix = round ~= "" and ("r" .. round .. "a") or "a"
local list = {}
-- Globals: done() reads each thread's copy.
thread_id = 0
counter = 0
answered = 0
accepted = 0
statuses = {}
setup = common.setup

function init(args)
  for line in io.lines(os.getenv("LIST")) do
    if line ~= "" then list[#list + 1] = line end
  end
  math.randomseed(os.time() * 1000 + thread_id)
end

local categories = {"A", "B", "C", "D", "E"}
local prefectures = {"JP-13", "JP-27", "JP-28", "JP-14"}
local form_headers = {["Content-Type"] = "application/x-www-form-urlencoded"}

local function registration(n)
  local body = "name=%E5%80%99%E8%A3%9C%E8%80%85+" .. thread_id .. "-" .. n ..  -- 候補者 t-n
    "&email=" .. address_prefix .. thread_id .. "n" .. n .. "%40example.jp" ..
    "&job_category=" .. categories[n % #categories + 1] ..
    "&skills=Excel%2C+SQL%2C+%E7%B5%8C%E7%90%86%E4%BA%8B%E5%8B%99" ..  -- 経理事務
    "&prefecture=" .. prefectures[n % #prefectures + 1] ..
    "&age_band=35-44&experience_band=6-10&consent_region=yes" .. consent_peers ..
    string.format("&nonce=b%08x%08x", math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
  return wrk.format("POST", list[n % #list + 1], form_headers, body)
end

-- wrk calls request() once in thread 1 before the run, to count the requests it returns
-- (pipelining): that one is never sent, so it takes no address or link.
local verified = false

request = function()
  if thread_id == 1 and not verified then
    verified = true
    return wrk.format("GET", "/healthz")
  end
  if mode == "register" then
    counter = counter + 1
    return registration(counter)
  end
  if counter >= #list then return common.parked end
  counter = counter + 1
  return wrk.format("POST", list[counter], form_headers, "")
end

response = function(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
  local location = headers["Location"] or headers["location"] or ""
  if status == 303 and location:sub(1, #accept) == accept then accepted = accepted + 1 end
  if mode == "confirm" and answered == #list then common.stop_run() end
end

done = function(summary, latency, requests)
  local extra = round ~= "" and string.format('"round":%q', round) or nil
  io.write(common.result(summary, latency, extra))
end
