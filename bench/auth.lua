-- wrk script for the larkdesk benchmarks.
--
-- Environment:
--   BENCH_AUTHORIZATION    value of the Authorization header ("Bearer t-...")      (optional)
--   BENCH_HELPDESK_AUTH    value of X-Lark-Helpdesk-Authorization (base64 id:token) (optional)
--   BENCH_IDS_FILE         a file with one ticket id a line: each request then asks for a
--                          random one, as BENCH_ID_PATH_PREFIX .. id                (optional)
--   BENCH_ID_PATH_PREFIX   default "/open-apis/helpdesk/v1/tickets/"
--   BENCH_ID_PATH_SUFFIX   appended after the id, e.g. "/messages"                 (optional)
--   BENCH_METHOD           "GET" (default) or "POST" / "PUT" with BENCH_BODY as a JSON body
--   BENCH_BODY             the request body of POST / PUT requests                 (optional)
--   BENCH_BODY_FILE        the body read from this file instead (bodies larger than the
--                          128 KiB an environment variable may hold)               (optional)
--   BENCH_MIX              a mixed run instead: "GET%,LIST%,POST%" (e.g. "80,10,10"): GET of
--                          a random ticket of BENCH_IDS_FILE, a GET /tickets list page (one of
--                          the first 50 pages of 20), or BENCH_BODY POSTed to /messages of a
--                          random ticket of BENCH_WRITE_IDS_FILE                    (optional)
--   BENCH_MAX_REQUESTS     send no more once this many responses came back; wrk still
--                          waits out -d, so its req/s then counts that whole time   (optional)
--   BENCH_DONE_FILE        with BENCH_MAX_REQUESTS: a file created once that many came
--                          back, for a script to stop wrk early (SIGINT)           (optional)
--
-- At the end it prints one machine-readable line that the bench scripts parse:
--   BENCH_RESULT requests=N seconds=S rps=R p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. non2xx=N socket_errors=N

local authorization = os.getenv("BENCH_AUTHORIZATION")
local helpdesk_auth = os.getenv("BENCH_HELPDESK_AUTH")
if authorization and authorization ~= "" then
  wrk.headers["Authorization"] = authorization
end
if helpdesk_auth and helpdesk_auth ~= "" then
  wrk.headers["X-Lark-Helpdesk-Authorization"] = helpdesk_auth
end

local function read_ids(file)
  local ids = {}
  for line in io.lines(file) do
    if line ~= "" then
      ids[#ids + 1] = line
    end
  end
  assert(#ids > 0, "no ids in " .. file)
  return ids
end

-- Every request to PATH_PREFIX .. id .. PATH_SUFFIX for the ids, built up front (wrk then makes
-- no garbage per request: with a million ids, its garbage collector's pauses showed in the p99)
-- by concatenating the id into a request that wrk formatted once around a placeholder
-- (formatting each id took wrk tens of seconds at a million).
local function id_requests(ids, method, path_prefix, path_suffix, headers, body)
  local marker = "{id}"
  local template = wrk.format(method, path_prefix .. marker .. path_suffix, headers, body)
  local at = template:find(marker, 1, true)
  local head, tail = template:sub(1, at - 1), template:sub(at + #marker)
  local requests = {}
  for i, id in ipairs(ids) do
    requests[i] = head .. id .. tail
  end
  return requests
end

local ids_file = os.getenv("BENCH_IDS_FILE")
local body_file = os.getenv("BENCH_BODY_FILE")
local body = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end
local mix = os.getenv("BENCH_MIX")
if mix and mix ~= "" then
  local get_pct, list_pct = mix:match("^(%d+),(%d+),(%d+)$")
  assert(get_pct, "BENCH_MIX must be GET%,LIST%,POST%")
  get_pct, list_pct = tonumber(get_pct), tonumber(list_pct)
  local prefix = "/open-apis/helpdesk/v1/tickets"
  local gets = id_requests(read_ids(ids_file), "GET", prefix .. "/", "")
  local lists = {}
  for page = 1, 50 do
    lists[page] = wrk.format("GET", prefix .. "?page_size=20&page=" .. page)
  end
  local post_headers = { ["Content-Type"] = "application/json; charset=utf-8" }
  for k, v in pairs(wrk.headers) do
    post_headers[k] = v
  end
  local posts = id_requests(read_ids(os.getenv("BENCH_WRITE_IDS_FILE")), "POST", prefix .. "/", "/messages",
    post_headers, body)
  math.randomseed(os.time())
  request = function()
    local roll = math.random(100)
    if roll <= get_pct then
      return gets[math.random(#gets)]
    elseif roll <= get_pct + list_pct then
      return lists[math.random(#lists)]
    end
    return posts[math.random(#posts)]
  end
elseif ids_file and ids_file ~= "" then
  local prefix = os.getenv("BENCH_ID_PATH_PREFIX") or "/open-apis/helpdesk/v1/tickets/"
  local suffix = os.getenv("BENCH_ID_PATH_SUFFIX") or ""
  math.randomseed(os.time())
  local method = os.getenv("BENCH_METHOD") or "GET"
  if method ~= "GET" then
    wrk.headers["Content-Type"] = "application/json; charset=utf-8"
  end
  local requests = id_requests(read_ids(ids_file), method, prefix, suffix, nil, method ~= "GET" and body or nil)
  local n = #requests
  request = function()
    return requests[math.random(n)]
  end
end

-- Only when asked: a response() callback costs wrk time on every response.
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "")
local done_file = os.getenv("BENCH_DONE_FILE")
if max_requests then
  local answered = 0
  response = function()
    answered = answered + 1
    if answered == max_requests then
      wrk.thread:stop()
      if done_file and done_file ~= "" then
        io.open(done_file, "w"):close()
      end
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH_RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
