-- What the plugin shows about itself: the statusline item and the :FimStatus lines.
local util = require("fim.util")
local ghost = require("fim.ghost")

local M = {}

function M.statusline(fim)
  if not fim.enabled then
    return "FIM off"
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local client = util.get_client(bufnr, fim.name)
  if not client then
    return ""
  end
  local state = fim.server_state and fim.server_state.state
  if fim.last_message or ghost.last_error or state == "error" then
    return "FIM !"
  end
  if ghost.busy or state == "busy" then
    return "FIM…"
  end
  local s = ghost.state[bufnr]
  if s and s.text and #s.items > 1 then
    return ("FIM %d/%d"):format(s.index, #s.items)
  end
  return "FIM"
end

--- The server's answer to fimServer.stats (nil when it does not answer in 2 s).
function M.stats(client, bufnr)
  local ok, res = pcall(function()
    local params = { command = "fimServer.stats" }
    if vim.fn.has("nvim-0.11") == 1 then
      return client:request_sync("workspace/executeCommand", params, 2000, bufnr)
    end
    return client.request_sync("workspace/executeCommand", params, 2000, bufnr)
  end)
  return ok and res and res.result or nil
end

--- "set" or "not set" and where from: setup()'s apiKey or the provider's variable.
function M.key_line(fim, setup)
  local env = setup and setup.keyEnv
  local in_setup = fim.settings and type(fim.settings.apiKey) == "string" and fim.settings.apiKey ~= ""
  if in_setup and (not setup or setup.keySet) then
    return "set (apiKey in setup())"
  end
  if (setup and setup.keySet) or (not setup and env and vim.env[env] and vim.env[env] ~= "") then
    return env and ("set ($%s)"):format(env) or "set"
  end
  if setup and setup.keyRequired == false then
    return "not set (this provider usually needs none)"
  end
  return ("not set: give apiKey in setup() or set $%s"):format(env or "DEEPSEEK_API_KEY")
end

function M.lines(fim)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = util.get_client(bufnr, fim.name)
  local cmd, why = fim.server_cmd()
  local lines = {
    ("fim-server: %s, %s"):format(fim.enabled and "on" or "off", client and ("client " .. client.id .. " attached") or "not attached to this buffer"),
    "server: " .. (cmd and table.concat(cmd, " ") or why),
    ("ghost text: %s"):format(fim.use_builtin() and "vim.lsp.inline_completion" or "fim.ghost (extmarks)"),
  }
  local stats = client and M.stats(client, bufnr)
  local setup = stats and stats.setup
  if setup then
    lines[#lines + 1] = ("provider: %s, model: %s, base URL: %s"):format(setup.provider, setup.model, setup.baseUrl)
    if fim.config and fim.config.demo then
      lines[#lines + 1] = "demo: answers come from the server's built-in fake (no key, no network)"
    end
  else
    local s = fim.settings or {}
    lines[#lines + 1] = ("provider: %s, model: %s, base URL: %s (from setup(); the server is not running)"):format(
      s.provider or "deepseek", s.model or "its default", s.baseUrl or "its default")
  end
  if fim.config and fim.config.demo then
    lines[#lines + 1] = "API key: none needed (demo)"
  else
    lines[#lines + 1] = "API key: " .. M.key_line(fim, setup)
  end
  if fim.last_message then
    lines[#lines + 1] = "last message: " .. fim.last_message
  end
  if ghost.last_error then
    lines[#lines + 1] = "last error: " .. ghost.last_error
  end
  if fim.server_state then
    local reason = fim.server_state.reason or ""
    lines[#lines + 1] = "state: " .. tostring(fim.server_state.state) .. (reason ~= "" and (" (" .. reason .. ")") or "")
  end
  if stats then
    local keys = vim.tbl_keys(stats)
    table.sort(keys)
    for _, k in ipairs(keys) do
      if type(stats[k]) ~= "table" then
        lines[#lines + 1] = ("  %s: %s"):format(k, tostring(stats[k]))
      end
    end
  end
  return lines
end

return M
