-- wrk script: POST /v1/tickets/{id}/events, a ticket's life as a ticketing system's webhooks send it.
-- SUPPORTPOLICY_BODIES names a file of one ticket's calls, in order, each carrying the ticket's decision request
-- (as a trigger's body template does, so whichever call comes first tracks the ticket: wrk also calls request()
-- once on its first thread to check the script, and that call is never sent).
-- Each thread keeps TICKETS tickets going in rotation, so a ticket's next call goes out only after TICKETS-1
-- other calls of its thread (a thread has at most its connections in flight): its calls arrive in order.
-- SUPPORTPOLICY_RUN makes the ticket ids of this run new to the store.
local steps = {}
for line in io.lines(os.getenv("SUPPORTPOLICY_BODIES")) do
  steps[#steps + 1] = line
end
local TICKETS = 1024
local headers = {["Content-Type"] = "application/json"}
local run = os.getenv("SUPPORTPOLICY_RUN") or "0"
local counter = 0
local sent = 0
local prefix = ""

setup = function(thread)
  counter = counter + 1
  thread:set("number", counter)
end

init = function(args)
  prefix = "/v1/tickets/bench-" .. run .. "-" .. (number or 0) .. "-"
end

request = function()
  local slot = sent % TICKETS
  local round = math.floor(sent / TICKETS)
  local step = round % #steps
  local ticket = math.floor(round / #steps) * TICKETS + slot
  sent = sent + 1
  return wrk.format("POST", prefix .. ticket .. "/events", headers, steps[step + 1])
end
