-- wrk script: POST to SUPPORTPOLICY_PATH (default /v1/decisions; /v1/decisions/batch with a file of batches),
-- cycling through the JSON bodies of the file named by SUPPORTPOLICY_BODIES (one per line), each thread starting
-- at its own place so the threads do not send the same request together.
local bodies = {}
for line in io.lines(os.getenv("SUPPORTPOLICY_BODIES")) do
  bodies[#bodies + 1] = line
end
local headers = {["Content-Type"] = "application/json"}
local path = os.getenv("SUPPORTPOLICY_PATH") or "/v1/decisions"
local counter = 0
local next_body = 1

setup = function(thread)
  counter = counter + 1
  thread:set("first", counter * 97)
end

init = function(args)
  next_body = (first or 1) % #bodies + 1
end

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", path, headers, bodies[next_body])
end
