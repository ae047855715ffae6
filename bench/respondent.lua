-- wrk script: every connection plays whole surveys, one respondent after another.
--
-- Run with as many threads as connections (wrk -tN -cN): wrk's Lua API does not
-- say which connection a response belongs to, so with one connection per thread
-- each response is the answer to the request that thread sent last.
--
-- Arguments after `--`: DIR MODE OUT
--   DIR/conn-<n>.tsv  the pregenerated requests of connection n (bench/run.py writes them):
--                     step TAB signature TAB form body TAB text the reply must contain
--   MODE              "bot": check each reply, stop when the requests run out;
--                     "bare": only check for a 200 TwiML reply, cycle through the file.
--   OUT               file that gets every latency in microseconds, one a line: measured
--                     here as sent-to-answered, without the "correction" wrk applies to
--                     its own histogram (that assumes an open-loop load; this one is closed).
--
-- Signatures cannot be computed here (no HMAC-SHA1 in wrk's Lua), so every request
-- is signed in advance; each has its own MessageSid, so nothing hits the
-- duplicate-delivery path. A reply that does not contain the expected text is a
-- failure: the respondent is dropped (its state is unknown) and the next one starts.

local ffi = require("ffi")
ffi.cdef[[
   typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
   int clock_gettime(int clock, bench_timespec *ts);
]]
local now_ts = ffi.new("bench_timespec")
local function now_us()
   ffi.C.clock_gettime(1, now_ts) -- CLOCK_MONOTONIC
   return tonumber(now_ts.tv_sec) * 1000000 + tonumber(now_ts.tv_nsec) / 1000
end

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local steps, sigs, bodies, expects, next_start = {}, {}, {}, {}, {}
local n, i, waiting, draining, verifying, sent_at = 0, 0, false, false, false, 0
local mode, path = "bot", "/sms"
ok, fail, lost, completed, exhausted, samples, nsamples = 0, 0, 0, 0, 0, "", 0
latencies, out = {}, nil

local function load(file)
   local f = assert(io.open(file, "r"))
   for line in f:lines() do
      local step, sig, body, expect = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
      if step then
         n = n + 1
         steps[n], sigs[n], bodies[n], expects[n] = tonumber(step), sig, body, expect
      end
   end
   f:close()
   -- next_start[k]: index of the first message of the respondent after message k
   local following = n + 1
   for k = n, 1, -1 do
      next_start[k] = following
      if steps[k] == 0 then following = k end
   end
end

function init(args)
   mode, out = args[2] or "bot", args[3]
   load(args[1] .. "/conn-" .. id .. ".tsv")
   -- wrk calls request() once on the first thread to check the script: that request
   -- is never sent, so it must not advance the respondent
   verifying = (id == 1)
end

local function post(k)
   local headers = {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = sigs[k],
   }
   return wrk.format("POST", path, headers, bodies[k])
end

local function note(kind, status, body)
   fail = fail + 1
   if nsamples < 5 then
      nsamples = nsamples + 1
      local got = (body or ""):sub(1, 300):gsub("[\r\n]", " ")
      samples = samples .. string.format("[%s #%d step %d] status %s; expected %q; got %q\n",
         kind, i, steps[i] or -1, tostring(status), expects[i] or "", got)
   end
end

function request()
   if verifying then
      verifying = false
      return post(1)
   end
   if waiting then
      -- the last request got no response (connection error): its respondent's
      -- state is unknown, so it is dropped
      lost = lost + 1
      if mode == "bot" then i = next_start[i] - 1 end
   end
   i = i + 1
   if i > n then
      if mode == "bare" then
         i = 1
      else
         -- out of pregenerated respondents: stop rather than replay a MessageSid
         exhausted, draining = 1, true
         wrk.thread:stop()
         return wrk.format("GET", "/healthz")
      end
   end
   waiting = true
   sent_at = now_us()
   return post(i)
end

function response(status, headers, body)
   if draining then return end
   latencies[#latencies + 1] = math.floor(now_us() - sent_at + 0.5)
   waiting = false
   local expect = (mode == "bot") and expects[i] or "<Response>"
   if status == 200 and body:find(expect, 1, true) then
      ok = ok + 1
      if mode == "bot" and next_start[i] == i + 1 then completed = completed + 1 end
   else
      note(mode, status, body)
      if mode == "bot" then i = next_start[i] - 1 end
   end
   if mode == "bot" and i >= n then
      exhausted, draining = 1, true
      wrk.thread:stop()
   end
end

local function json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
   local t = { ok = 0, fail = 0, lost = 0, completed = 0, exhausted = 0 }
   local all_samples = ""
   local file = assert(io.open(threads[1]:get("out"), "w"))
   for _, thread in ipairs(threads) do
      for key, _ in pairs(t) do t[key] = t[key] + (thread:get(key) or 0) end
      all_samples = all_samples .. (thread:get("samples") or "")
      local mine = thread:get("latencies")
      if #mine > 0 then file:write(table.concat(mine, "\n"), "\n") end
   end
   file:close()
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"duration_us": %d, "responses": %d, "ok": %d, "fail": %d, "lost": %d, '
      .. '"completed": %d, "exhausted": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "samples": %s}\n',
      summary.duration, summary.requests, t.ok, t.fail, t.lost, t.completed, t.exhausted,
      e.connect, e.read, e.write, e.status, e.timeout, json_string(all_samples)))
end
