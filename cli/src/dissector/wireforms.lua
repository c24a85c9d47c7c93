-- The engine: one Proto per entry of PROTOCOLS above, named
-- wireforms_<prefix>, fields wireforms_<prefix>.<field>, error kinds as
-- expert info wireforms_<prefix>.<kind>. Over TCP, messages that span
-- segments are reassembled through desegment_offset/desegment_len; several
-- messages in one segment each get their own tree.

local tcp_ports = DissectorTable.get("tcp.port")
local udp_ports = DissectorTable.get("udp.port")

local function new_protocol(d)
  local proto = Proto("wireforms_" .. d.prefix, d.title .. " (spec/" .. d.prefix .. ".md)")
  local fields, by_name = {}, {}
  local function add(name, field)
    by_name[name] = field
    fields[#fields + 1] = field
  end
  local abbrev = function(name) return "wireforms_" .. d.prefix .. "." .. name end
  if d.kind == "binary" then
    for _, f in ipairs(d.fields) do
      if f.size == "length" then
        add(f.name, ProtoField.bytes(abbrev(f.name), f.name))
      elseif f.size == 1 then
        add(f.name, ProtoField.uint8(abbrev(f.name), f.name, base.DEC))
      elseif f.size == 2 then
        add(f.name, ProtoField.uint16(abbrev(f.name), f.name, base.DEC))
      elseif f.name == "magic" then
        add(f.name, ProtoField.uint32(abbrev(f.name), f.name, base.HEX))
      else
        add(f.name, ProtoField.uint32(abbrev(f.name), f.name, base.DEC))
      end
    end
  else
    local seen = {}
    for _, list in ipairs({ d.request, d.response }) do
      for _, name in ipairs(list) do
        if not seen[name] then
          seen[name] = true
          add(name, ProtoField.string(abbrev(name), name))
        end
      end
    end
    add("direction", ProtoField.string(abbrev("direction"), "direction"))
  end
  proto.fields = fields
  local experts, expert_list = {}, {}
  for _, e in ipairs(d.errors) do
    local kind, section = e[1], e[2]
    local ex = ProtoExpert.new(abbrev(kind), kind .. " (" .. section .. ")",
      expert.group.MALFORMED, expert.severity.ERROR)
    experts[kind] = ex
    expert_list[#expert_list + 1] = ex
  end
  proto.experts = expert_list
  proto.prefs.tcp_port = Pref.uint("TCP port", 0, "Decode this TCP port as " .. d.prefix .. " (0: none)")
  proto.prefs.udp_port = Pref.uint("UDP port", 0, "Decode this UDP port as " .. d.prefix .. " (0: none)")
  proto.prefs.max_len = Pref.uint("Receiver limit", d.default_max,
    "Largest payload (lines: line) accepted, as the receiver's limit")
  return proto, by_name, experts
end

-- Dissects binary messages from `offset`; returns the bytes consumed, or
-- asks TCP for more through pinfo.desegment_*.
local function dissect_binary(d, proto, f, experts, tvb, pinfo, tree, stream)
  local len = tvb:len()
  local offset = 0
  local length_at, length_size
  for _, field in ipairs(d.fields) do
    if field.name == d.length_field then
      length_at, length_size = field.offset, field.size
    end
  end
  while offset < len do
    local avail = len - offset
    if avail < d.header_len then
      if stream then
        pinfo.desegment_offset = offset
        pinfo.desegment_len = d.header_len - avail
        return len
      end
      tree:add(proto, tvb(offset)):add_proto_expert_info(experts.incomplete)
      return len
    end
    -- A tree item only for a whole message or an error: a message still
    -- waiting for its segments shows in the frame that completes it.
    local head = tvb(offset, d.header_len)
    if d.magic then
      local m = tvb(offset, 4):uint()
      if m ~= d.magic then
        -- magic/7.3: resynchronise on the next magic number.
        local found = string.find(tvb:raw(offset + 1, len - offset - 1), string.char(0xde, 0xad, 0xbe, 0xef), 1, true)
        local sub = tree:add(proto, head)
        sub:add_proto_expert_info(experts.bad_magic, string.format("bad_magic: 0x%08x", m))
        if not found then return len end
        offset = offset + found
        goto continue
      end
      local v = tvb(offset + 4, 1):uint()
      if v ~= d.version then
        local sub = tree:add(proto, head)
        sub:add(f.magic, tvb(offset, 4))
        sub:add(f.version, tvb(offset + 4, 1))
        sub:add_proto_expert_info(experts.bad_version, "bad_version: " .. v)
        return len
      end
    end
    local plen = tvb(offset + length_at, length_size):uint()
    if plen > proto.prefs.max_len then
      local sub = tree:add(proto, head)
      sub:add(f[d.length_field], tvb(offset + length_at, length_size))
      sub:add_proto_expert_info(experts.too_large,
        "too_large: " .. plen .. " > " .. proto.prefs.max_len)
      return len
    end
    local total = d.header_len + plen
    if avail < total then
      if stream then
        pinfo.desegment_offset = offset
        pinfo.desegment_len = total - avail
        return len
      end
      tree:add(proto, tvb(offset)):add_proto_expert_info(experts.incomplete)
      return len
    end
    local sub = tree:add(proto, tvb(offset, total))
    for _, field in ipairs(d.fields) do
      if field.size == "length" then
        if plen > 0 then sub:add(f[field.name], tvb(offset + field.offset, plen)) end
      else
        sub:add(f[field.name], tvb(offset + field.offset, field.size))
      end
    end
    offset = offset + total
    if not stream and offset < len then
      -- <format>/7.2: a datagram with bytes after its message is dropped,
      -- so the message carries the error (it is not one the peer took).
      sub:add_proto_expert_info(experts.trailing_bytes,
        "trailing_bytes: " .. (len - offset) .. " after the message")
      return len
    end
    ::continue::
  end
  return offset
end

-- reqres/5.4: the offset of the first byte of `s` that is not well-formed
-- UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
-- U+10FFFF), or nil. Lua 5.2 has no utf8 library; ASCII runs are skipped
-- with one pattern search.
local function utf8_error(s)
  local i, n = 1, #s
  while true do
    i = string.find(s, "[\128-\255]", i)
    if not i then return nil end
    local c = string.byte(s, i)
    local need, lo, hi = 0, 0x80, 0xbf
    if c >= 0xc2 and c <= 0xdf then need = 1
    elseif c == 0xe0 then need, lo = 2, 0xa0
    elseif c == 0xed then need, hi = 2, 0x9f
    elseif c >= 0xe1 and c <= 0xef then need = 2
    elseif c == 0xf0 then need, lo = 3, 0x90
    elseif c >= 0xf1 and c <= 0xf3 then need = 3
    elseif c == 0xf4 then need, hi = 3, 0x8f
    else return i - 1 end
    for k = 1, need do
      local b = string.byte(s, i + k)
      if k > 1 then lo, hi = 0x80, 0xbf end
      if i + k > n or b < lo or b > hi then return i - 1 end
    end
    i = i + need + 1
  end
end

local function dissect_lines(d, proto, f, experts, tvb, pinfo, tree, stream)
  local len = tvb:len()
  local offset = 0
  local request = pinfo.match_uint == pinfo.dst_port
  local names = request and d.request or d.response
  while offset < len do
    -- The raw bytes: string() would turn non-ASCII bytes into U+FFFD,
    -- hiding invalid UTF-8 and moving every field after them.
    local rest = tvb:raw(offset)
    local nl = string.find(rest, "\n", 1, true)
    if not nl then
      if not stream then
        rest = rest .. "\n"
        nl = #rest
      elseif #rest >= proto.prefs.max_len then
        tree:add(proto, tvb(offset)):add_proto_expert_info(experts.line_too_long)
        return len
      else
        pinfo.desegment_offset = offset
        pinfo.desegment_len = DESEGMENT_ONE_MORE_SEGMENT
        return len
      end
    end
    local line_len = math.min(nl, len - offset)
    local sub = tree:add(proto, tvb(offset, line_len))
    if nl > proto.prefs.max_len then
      sub:add_proto_expert_info(experts.line_too_long)
      return len
    end
    local text = string.sub(rest, 1, nl - 1)
    if string.sub(text, -1) == "\r" then text = string.sub(text, 1, -2) end
    -- reqres/5: UTF-8 (5.4) is checked before the field split (5.3).
    local bad = utf8_error(text)
    if bad then
      sub:add_proto_expert_info(experts.invalid_utf8, "invalid_utf8 at offset " .. bad)
      return len
    end
    local c1 = string.find(text, ":", 1, true)
    local c2 = c1 and string.find(text, ":", c1 + 1, true)
    if not c2 then
      sub:add_proto_expert_info(experts.malformed)
      return len
    end
    if not stream and offset + line_len < len then
      -- reqres/7.2: a datagram carries exactly one line (checked once it
      -- parsed, as the receiver does).
      sub:add_proto_expert_info(experts.trailing_bytes,
        "trailing_bytes: " .. (len - offset - line_len) .. " after the line")
      return len
    end
    sub:add(f.direction, request and "request" or "response")
    local parts = { string.sub(text, 1, c1 - 1), string.sub(text, c1 + 1, c2 - 1), string.sub(text, c2 + 1) }
    local starts = { 0, c1, c2 }
    for i = 1, 3 do
      sub:add_packet_field(f[names[i]], tvb(offset + starts[i], #parts[i]), ENC_UTF_8)
    end
    offset = offset + line_len
  end
  return offset
end

for _, d in ipairs(PROTOCOLS) do
  local proto, f, experts = new_protocol(d)
  local function dissect(tvb, pinfo, tree, stream)
    pinfo.cols.protocol = proto.name
    if d.kind == "binary" then
      return dissect_binary(d, proto, f, experts, tvb, pinfo, tree, stream)
    end
    return dissect_lines(d, proto, f, experts, tvb, pinfo, tree, stream)
  end
  function proto.dissector(tvb, pinfo, tree)
    return dissect(tvb, pinfo, tree, pinfo.port_type == 2)
  end
  local registered = { tcp = 0, udp = 0 }
  function proto.prefs_changed()
    for _, t in ipairs({ { "tcp", tcp_ports }, { "udp", udp_ports } }) do
      local name, table_ = t[1], t[2]
      local port = proto.prefs[name .. "_port"]
      if registered[name] ~= 0 then table_:remove(registered[name], proto) end
      if port ~= 0 then table_:add(port, proto) end
      registered[name] = port
    end
  end
  tcp_ports:add_for_decode_as(proto)
  udp_ports:add_for_decode_as(proto)
  if d.magic then
    -- The magic number marks a packet start: no port needed.
    local function heuristic(tvb, pinfo, tree)
      if tvb:len() < d.header_len or tvb(0, 4):uint() ~= d.magic
        or tvb(4, 1):uint() ~= d.version then
        return false
      end
      dissect(tvb, pinfo, tree, pinfo.port_type == 2)
      return true
    end
    proto:register_heuristic("tcp", heuristic)
    proto:register_heuristic("udp", heuristic)
  end
end
