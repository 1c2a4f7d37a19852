-- wrk script for dnsward-gateway's dyndns2 endpoint with HTTP Basic
-- credentials (bench/gateway.sh).  Environment:
--   GW_USER, GW_TOKEN   the host's FQDN and token (the token never printed)
--   GW_MODE             "nochg": the same address every time (the path a
--                       router polling every few minutes hits);
--                       "update": a new address each request, so every
--                       request is one real update into Knot
--   GW_IP               the address sent in nochg mode
-- done() prints one RESULT line: requests per second, latency percentiles
-- and the count of replies that were not what the mode expects.

local function b64(s)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = 4 - (b == nil and 2 or (c == nil and 1 or 0))
    for k = 1, 4 do
      if k <= chars then
        local idx = math.floor(n / 2 ^ (6 * (4 - k))) % 64
        out[#out + 1] = alphabet:sub(idx + 1, idx + 1)
      else
        out[#out + 1] = "="
      end
    end
  end
  return table.concat(out)
end

local user = os.getenv("GW_USER") or ""
local token = os.getenv("GW_TOKEN") or ""
local mode = os.getenv("GW_MODE") or "nochg"
local want = mode == "update" and "good " or "nochg "

wrk.method = "GET"
wrk.headers["Authorization"] = "Basic " .. b64(user .. ":" .. token)
wrk.path = "/nic/update?hostname=" .. user .. "&myip=" .. (os.getenv("GW_IP") or "")

-- Thread bookkeeping (setup and done run in the main Lua state).
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

unexpected = 0
sample = ""

if mode == "update" then
  local n = 0
  request = function()
    n = n + 1
    local ip = string.format("10.%d.%d.%d", tid or 1, math.floor(n / 256) % 256, n % 256)
    return wrk.format(nil, "/nic/update?hostname=" .. user .. "&myip=" .. ip)
  end
end

-- Reading every body costs wrk time; it is cheap next to a DNS update but
-- not next to nochg, so nochg is checked through the gateway's metrics.
if mode == "update" then
  response = function(status, headers, body)
    if status ~= 200 or body:sub(1, #want) ~= want then
      unexpected = unexpected + 1
      sample = body:sub(1, 40)
    end
  end
end

function done(summary, latency, requests)
  local bad, smp = 0, ""
  for _, t in ipairs(threads) do
    bad = bad + (t:get("unexpected") or 0)
    local s = t:get("sample")
    if s and s ~= "" then smp = s end
  end
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT mode=%s requests=%d seconds=%.2f rps=%.1f mean_ms=%.3f p50_ms=%.3f p99_ms=%.3f " ..
    "max_ms=%.3f non2xx=%d socket_errors=%d unexpected=%d%s\n",
    mode, summary.requests, secs, summary.requests / secs, latency.mean / 1000,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    bad, smp ~= "" and (" sample=" .. smp:gsub("%s", "_")) or ""))
end
