-- wrk script for bench/subscription_forms.py: POSTs a sign-up, a new address per request
-- (or one address again and again, or the honeypot filled in: the mode is wrk's first argument).
local counter = 0

function setup(thread)
  thread:set("id", math.random(1, 1000000000))
end

function init(args)
  mode, prefix = args[1], args[2]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  counter = counter + 1
  local address = prefix .. "-" .. id .. "-" .. counter .. "%40example.com"
  if mode == "same" then
    address = prefix .. "-same%40example.com"
  end
  local body = "email=" .. address .. "&full_name=Bench+Reader"
  if mode == "bot" then
    body = body .. "&website=http%3A%2F%2Fspam.example"
  end
  return wrk.format(nil, nil, nil, body)
end
