-- Shared by rotate.lua and once.lua: load_requests(path, share, nthreads)
-- reads a bench/peers request file (one request a line,
-- "METHOD\tPATH\tAUTHORIZATION\tBODY", the last two may be empty) into
-- wrk requests. With share, only every nthreads-th line from line id+1
-- (this thread's share); without, every line.
function load_requests(path, share, nthreads)
  local reqs, n = {}, 0
  for line in io.lines(path) do
    if not share or n % nthreads == id then
      local method, p, auth, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      if not method then error("bad request line " .. (n + 1) .. " in " .. path) end
      local headers = {}
      if auth ~= "" then headers["Authorization"] = auth end
      if body ~= "" then headers["Content-Type"] = "application/json" else body = nil end
      reqs[#reqs + 1] = wrk.format(method, p, headers, body)
    end
    n = n + 1
  end
  if #reqs == 0 then error("no requests in " .. path) end
  return reqs
end

local counter = 0
threads = {}
function setup(thread)
  thread:set("id", counter)
  threads[#threads + 1] = thread
  counter = counter + 1
end
