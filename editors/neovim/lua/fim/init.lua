-- fim-server for Neovim: require("fim").setup({...})
--
-- Options that are fim-server settings use the server's own names (camelCase, as
-- in the README table) and are sent to it unchanged; the others belong to the
-- plugin (cmd, filetypes, keys, ...). Neovim 0.12+ uses the built-in
-- vim.lsp.inline_completion; 0.10 and 0.11 use fim.ghost.
local util = require("fim.util")
local ghost = require("fim.ghost")

local M = {}

M.name = "fim-server"

-- The server's settings (generated from fim_server/settings.py into fim/settings.lua):
-- setup() options with these names are passed through 1:1.
M.settings = require("fim.settings")
M.server_settings = {}
for _, setting in ipairs(M.settings) do
  M.server_settings[#M.server_settings + 1] = setting.name
end

local defaults = {
  cmd = { "fim-server" },
  filetypes = nil, -- nil: every normal file buffer
  disabled_filetypes = { "help", "gitcommit", "gitrebase", "TelescopePrompt" },
  auto_trigger = true,
  builtin = nil, -- nil: vim.lsp.inline_completion when Neovim has it (0.12+)
  keys = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-Down>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
  },
}

M.config = nil
M.enabled = true
M.last_message = nil

local function split_options(opts)
  local config, settings, unknown = vim.deepcopy(defaults), {}, {}
  local server = {}
  for _, name in ipairs(M.server_settings) do
    server[name] = true
  end
  for key, value in pairs(opts or {}) do
    if server[key] then
      settings[key] = value
    elseif key == "keys" then
      config.keys = vim.tbl_extend("force", config.keys, value)
    elseif defaults[key] ~= nil or key == "filetypes" or key == "builtin" then
      config[key] = value
    else
      unknown[#unknown + 1] = key
    end
  end
  if type(config.cmd) == "string" then
    config.cmd = { config.cmd }
  end
  return config, settings, unknown
end

local function use_builtin()
  if M.config.builtin ~= nil then
    return M.config.builtin and vim.lsp.inline_completion ~= nil
  end
  return vim.lsp.inline_completion ~= nil
end

local function wanted(bufnr)
  if vim.bo[bufnr].buftype ~= "" then
    return false
  end
  local ft = vim.bo[bufnr].filetype
  if vim.tbl_contains(M.config.disabled_filetypes, ft) then
    return false
  end
  if M.config.filetypes and not vim.tbl_contains(M.config.filetypes, ft) then
    return false
  end
  return true
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.textDocument = caps.textDocument or {}
  -- Neovim before 0.12 does not offer inline completion: this plugin does.
  caps.textDocument.inlineCompletion = caps.textDocument.inlineCompletion or { dynamicRegistration = false }
  return caps
end

local function section()
  local s = vim.deepcopy(M.settings)
  s.enabled = M.enabled and (M.settings.enabled ~= false)
  return s
end

--- Start (or reuse) the server for `bufnr`.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if not wanted(bufnr) then
    return nil
  end
  local handlers = {
    ["window/showMessage"] = function(err, result, ctx, cfg)
      if result and result.type and result.type <= 2 then
        M.last_message = result.message
      end
      return vim.lsp.handlers["window/showMessage"](err, result, ctx, cfg)
    end,
    -- the server's own state: busy while a provider call runs, error with a short reason
    ["fimServer/status"] = function(_, result)
      if type(result) == "table" then
        M.server_state = result
      end
    end,
  }
  return vim.lsp.start({
    name = M.name,
    cmd = M.config.cmd,
    root_dir = vim.fn.getcwd(),
    capabilities = capabilities(),
    init_options = section(),
    settings = { fimServer = section() },
    handlers = handlers,
    on_attach = function(client, buf)
      if use_builtin() then
        vim.lsp.inline_completion.enable(M.enabled, { bufnr = buf })
      end
    end,
  }, { bufnr = bufnr })
end

local function map_keys()
  local keys = M.config.keys
  local function imap(lhs, when_visible, fn)
    if not lhs or lhs == "" then
      return
    end
    vim.keymap.set("i", lhs, function()
      if when_visible() then
        vim.schedule(fn)
        return ""
      end
      return lhs
    end, { expr = true, replace_keycodes = true, desc = "fim-server" })
  end
  local visible = function()
    if use_builtin() then
      return true
    end
    return ghost.visible()
  end
  local always = function()
    return M.enabled
  end
  if use_builtin() then
    local ic = vim.lsp.inline_completion
    -- On 0.12 accept goes through ic.get(), which returns false when nothing is shown.
    vim.keymap.set("i", keys.accept, function()
      if not ic.get() then
        return keys.accept
      end
      return ""
    end, { expr = true, replace_keycodes = true, desc = "fim-server accept" })
    imap(keys.next, always, function()
      ic.select({ count = 1 })
    end)
    imap(keys.prev, always, function()
      ic.select({ count = -1 })
    end)
    return
  end
  imap(keys.accept, visible, ghost.accept)
  imap(keys.accept_word, visible, ghost.accept_word)
  imap(keys.accept_line, visible, ghost.accept_line)
  imap(keys.dismiss, visible, function()
    ghost.clear()
  end)
  imap(keys.next, always, function()
    ghost.cycle(1)
  end)
  imap(keys.prev, always, function()
    ghost.cycle(-1)
  end)
end

local function autocmds()
  local group = vim.api.nvim_create_augroup("fim", { clear = true })
  vim.api.nvim_create_autocmd({ "FileType", "BufEnter" }, {
    group = group,
    callback = function(ev)
      if M.enabled then
        M.attach(ev.buf)
      end
    end,
  })
  if use_builtin() then
    return
  end
  vim.api.nvim_create_autocmd("TextChangedI", {
    group = group,
    callback = function(ev)
      if M.enabled and M.config.auto_trigger then
        ghost.on_text_changed(ev.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd("CursorMovedI", {
    group = group,
    callback = function(ev)
      ghost.on_cursor_moved(ev.buf)
    end,
  })
  vim.api.nvim_create_autocmd({ "InsertLeave", "BufLeave", "ModeChanged" }, {
    group = group,
    callback = function(ev)
      if ev.event == "ModeChanged" and vim.v.event.new_mode and vim.v.event.new_mode:match("^i") then
        return
      end
      ghost.clear(ev.buf)
    end,
  })
end

--- Send the current settings to a running server.
local function push_settings()
  for _, client in ipairs((vim.lsp.get_clients or vim.lsp.get_active_clients)({ name = M.name })) do
    client.settings = { fimServer = section() }
    util.notify(client, "workspace/didChangeConfiguration", { settings = { fimServer = section() } })
  end
end

function M.toggle(on)
  if on == nil then
    on = not M.enabled
  end
  M.enabled = on
  if not on then
    for bufnr in pairs(ghost.state) do
      ghost.clear(bufnr)
    end
  end
  if use_builtin() then
    vim.lsp.inline_completion.enable(on)
  end
  push_settings()
  if on then
    M.attach(vim.api.nvim_get_current_buf())
  end
  vim.notify("fim-server " .. (on and "on" or "off"))
end

--- For 'statusline': "FIM", "FIM…" while waiting, "FIM off", "FIM !" after an error.
function M.statusline()
  if not M.enabled then
    return "FIM off"
  end
  local client = util.get_client(vim.api.nvim_get_current_buf(), M.name)
  if not client then
    return ""
  end
  local state = M.server_state and M.server_state.state
  if M.last_message or ghost.last_error or state == "error" then
    return "FIM !"
  end
  return (ghost.busy or state == "busy") and "FIM…" or "FIM"
end

function M.status()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = util.get_client(bufnr, M.name)
  local lines = {
    ("fim-server: %s, %s"):format(M.enabled and "on" or "off", client and ("client " .. client.id .. " attached") or "not attached to this buffer"),
    ("ghost text: %s"):format(use_builtin() and "vim.lsp.inline_completion" or "fim.ghost (extmarks)"),
  }
  if M.last_message then
    lines[#lines + 1] = "last message: " .. M.last_message
  end
  if ghost.last_error then
    lines[#lines + 1] = "last error: " .. ghost.last_error
  end
  if M.server_state then
    local reason = M.server_state.reason or ""
    lines[#lines + 1] = "server: " .. tostring(M.server_state.state) .. (reason ~= "" and (" (" .. reason .. ")") or "")
  end
  if client then
    local result
    local ok, res = pcall(function()
      if vim.fn.has("nvim-0.11") == 1 then
        return client:request_sync("workspace/executeCommand", { command = "fimServer.stats" }, 2000, bufnr)
      end
      return client.request_sync("workspace/executeCommand", { command = "fimServer.stats" }, 2000, bufnr)
    end)
    result = ok and res and res.result or nil
    if result then
      local keys = vim.tbl_keys(result)
      table.sort(keys)
      for _, k in ipairs(keys) do
        if type(result[k]) ~= "table" then
          lines[#lines + 1] = ("  %s: %s"):format(k, tostring(result[k]))
        end
      end
    end
  end
  return lines
end

function M.setup(opts)
  local config, settings, unknown = split_options(opts)
  M.config, M.settings = config, settings
  if #unknown > 0 then
    vim.notify("fim: unknown option(s) ignored: " .. table.concat(unknown, ", "), vim.log.levels.WARN)
  end
  vim.api.nvim_set_hl(0, "FimGhost", { link = "Comment", default = true })
  vim.api.nvim_create_user_command("FimStatus", function()
    print(table.concat(M.status(), "\n"))
  end, { desc = "fim-server status and stats" })
  vim.api.nvim_create_user_command("FimToggle", function()
    M.toggle()
  end, { desc = "turn fim-server completions on or off" })
  map_keys()
  autocmds()
  local bufnr = vim.api.nvim_get_current_buf()
  if vim.bo[bufnr].filetype ~= "" or vim.api.nvim_buf_get_name(bufnr) ~= "" then
    M.attach(bufnr)
  end
end

-- A suggestion arrived: an earlier problem the server reported is over.
ghost.on_items = function()
  M.last_message = nil
end

M.ghost = ghost
return M
