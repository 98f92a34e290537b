-- Replays pre-signed Twilio webhook requests, each once, for wrk (Debian's wrk 4.x).
--
--   wrk -t1 -c8 -d10s -s bench/replay.lua http://127.0.0.1:PORT/sms -- REQUESTS [RATE]
--
-- REQUESTS has one request a line: the X-Twilio-Signature, a tab, the form body. Each
-- thread takes every n-th line (no two threads send the same MessageSid). RATE > 0 paces
-- the thread to RATE requests per second: delay() hands out send times on a fixed
-- schedule from a monotonic clock (LuaJIT's FFI, clock_gettime), so the rate does not
-- sag with the server's latency while a connection is free. Latency is measured by wrk
-- from each request's write. Every response is checked: `bad` counts statuses outside
-- 2xx, `empty` counts 2xx replies without a <Message> (the limiter or the duplicate
-- check answering instead of the bot). The totals are printed as one JSON line.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local count = 0

function setup(thread)
  thread:set("id", count)
  count = count + 1
  table.insert(threads, thread)
end

-- per thread (each thread has its own Lua state)
local requests = {}
local position = 0
local interval, next_send = 0, nil
bad, empty, sent, wrapped = 0, 0, 0, 0

function init(args)
  local path, rate, nthreads = args[1], tonumber(args[2] or "0"), tonumber(args[3] or "1")
  local line_no = 0
  for line in io.lines(path) do
    if line_no % nthreads == id then
      local signature, body = line:match("^([^\t]*)\t(.*)$")
      requests[#requests + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = signature,
      }, body)
    end
    line_no = line_no + 1
  end
  if rate > 0 then
    interval = 1000 / (rate / nthreads)
  end
end

function delay()
  if interval == 0 then
    return 0
  end
  local now = now_ms()
  if next_send == nil then
    next_send = now
  end
  local wait = next_send - now
  next_send = next_send + interval
  if wait > 0 then
    return wait
  end
  return 0
end

function request()
  position = position + 1
  if position > #requests then  -- ran out: a repeat would hit the duplicate check
    position = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  return requests[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
  elseif not body:find("<Message", 1, true) then
    empty = empty + 1
  end
end

function done(summary, latency, requests)
  local totals = { bad = 0, empty = 0, sent = 0, wrapped = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local e = summary.errors
  local out = {
    string.format('"duration_us": %d', summary.duration),
    string.format('"requests": %d', summary.requests),
    string.format('"bytes": %d', summary.bytes),
    string.format('"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}',
                  e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"non_2xx": %d', totals.bad),
    string.format('"empty_replies": %d', totals.empty),
    string.format('"sent": %d', totals.sent),
    string.format('"wrapped": %d', totals.wrapped),
    string.format('"latency_us": {"min": %d, "mean": %.1f, "max": %d}',
                  latency.min, latency.mean, latency.max),
  }
  local points = {}
  for _, p in ipairs({ 50, 75, 90, 95, 99, 99.9, 99.99 }) do
    points[#points + 1] = string.format('"%s": %d', tostring(p), latency:percentile(p))
  end
  out[#out + 1] = '"percentiles_us": {' .. table.concat(points, ", ") .. '}'
  io.write("BENCH {" .. table.concat(out, ", ") .. "}\n")
end
