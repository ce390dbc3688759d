-- A key-guessing flood: every other request carries a valid key (cycling through a pool),
-- the others a fresh, well-formed, unknown key read from a pool file, never repeated
-- within a run. Arguments after "--": header, value prefix, valid-key file,
-- unknown-key file, offset into the unknown pool (so consecutive runs use fresh keys).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "report.lua")

generated = 0
local valid, unknown = {}, {}
local head, tail, name, prefix
local offset, i = 0, 0

local function load(path, into)
  for line in io.lines(path) do
    if #line > 0 then into[#into + 1] = line end
  end
end

function init(args)
  name, prefix = args[1], args[2]
  load(args[3], valid)
  load(args[4], unknown)
  offset = tonumber(args[5]) or 0
  head = "GET " .. wrk.path .. " HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. wrk.port ..
    "\r\n" .. name .. ": " .. prefix
  tail = "\r\n\r\n"
  -- Valid requests never change: build them once.
  for k = 1, #valid do valid[k] = head .. valid[k] .. tail end
end

function request()
  i = i + 1
  if i % 2 == 0 then
    return valid[(i / 2) % #valid + 1]
  end
  local key = unknown[(offset + generated) % #unknown + 1]
  generated = generated + 1
  return head .. key .. tail
end
