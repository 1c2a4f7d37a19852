-- /etc/powerdns/dnsupdate-policy.lua: which TSIG key may change which
-- record types at which names.  PowerDNS calls updatepolicy() once per
-- record of an UPDATE and silently drops each one it returns false for.
local grants = {
  ["host-key."] = {
    ["host.example.org."] = { [pdns.A] = true, [pdns.AAAA] = true },
    ["_acme-challenge.host.example.org."] = { [pdns.TXT] = true },
  },
}

function updatepolicy(input)
  local key = input:getTsigName()
  if key:countLabels() == 0 then
    return false                          -- unsigned: never
  end
  local names = grants[key:toString()]
  local types = names and names[string.lower(input:getQName():toString())]
  return types ~= nil and types[input:getQType()] == true
end
