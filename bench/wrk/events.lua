-- events.lua - wrk script: POST /api/v1/events, each request a new batch of
-- BATCH events (default 1000) in Kizuna's own shape, stamped with the time
-- of the request (as a tracking pipeline sends them), over the benchmark's
-- accounts and users. TOKEN is the API token.
local batch = tonumber(os.getenv("BATCH") or "1000")
local accounts = tonumber(os.getenv("ACCOUNTS") or "50000")
local users = tonumber(os.getenv("USERS") or "297000")
local names = { "login", "dashboard.view", "report.create", "report.export", "search", "api.call",
                "settings.update", "invite.send", "comment.add", "file.upload" }
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "") }
local seq = 0
local id = 0

function setup(thread)
    id = id + 1
    thread:set("id", id)
end

function init(args)
    math.randomseed(id or 1)
    seq = (id or 1) * 1000000000
end

function request()
    local parts = {}
    local now = os.date("!%Y-%m-%dT%H:%M:%SZ")
    for i = 1, batch do
        seq = seq + 1
        parts[i] = string.format('{"ts":"%s","account_id":"acc_%06d","event":"%s","user_id":"usr_%08d"}', now,
                                 math.random(accounts), names[seq % #names + 1], math.random(users))
    end
    return wrk.format("POST", "/api/v1/events", headers, "[" .. table.concat(parts, ",") .. "]")
end

local failed = 0
function response(status, headers, body)
    if status ~= 200 then
        failed = failed + 1
        if failed < 3 then
            io.stderr:write("events: ", status, " ", body:sub(1, 200), "\n")
        end
    end
end
