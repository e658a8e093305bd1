-- fim-server for Neovim: require("fim").setup({...})
--
-- Options that are fim-server settings use the server's own names (camelCase, as
-- in the README table) and are sent to it unchanged; the others belong to the
-- plugin (cmd, filetypes, keys, ...). Neovim 0.12+ uses the built-in
-- vim.lsp.inline_completion; 0.10 and 0.11 use fim.ghost.
local util = require("fim.util")
local ghost = require("fim.ghost")
local install = require("fim.install")

local M = {}

M.name = "fim-server"

-- The server's settings (generated from fim_server/settings.py into fim/settings.lua):
-- setup() options with these names are passed through 1:1.
M.settings = require("fim.settings")
M.server_settings = {}
for _, setting in ipairs(M.settings) do
  M.server_settings[#M.server_settings + 1] = setting.name
end

-- Key presets: keys = "copilot" (copilot.lua's keys), or keys = { preset = "copilot", next = ... }.
M.presets = {
  default = {
    accept = "<Tab>",
    accept_word = "<M-Right>",
    accept_line = "<M-Down>",
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
  },
  copilot = {
    accept = "<M-l>",
    accept_word = false,
    accept_line = false,
    next = "<M-]>",
    prev = "<M-[>",
    dismiss = "<C-]>",
  },
}

local defaults = {
  cmd = nil, -- nil: fim-server on PATH, else the one :FimInstall put in stdpath("data")
  python = nil, -- the Python :FimInstall uses (nil: python3, then python)
  demo = false, -- true: the server answers from its built-in fake (no key, no network)
  filetypes = nil, -- nil: every normal file buffer
  disabled_filetypes = { "help", "gitcommit", "gitrebase", "TelescopePrompt" },
  auto_trigger = true,
  builtin = nil, -- nil: vim.lsp.inline_completion when Neovim has it (0.12+)
  keys = M.presets.default,
}

M.config = nil
M.enabled = true
M.last_message = nil

--- The key table for the `keys` option: a preset name, or a table (with an optional preset).
function M.keys(value)
  if type(value) == "string" then
    value = { preset = value }
  end
  local preset = M.presets[value.preset or "default"]
  if not preset then
    vim.notify(("fim: unknown key preset %q (known: default, copilot)"):format(value.preset), vim.log.levels.WARN)
    preset = M.presets.default
  end
  local keys = vim.deepcopy(preset)
  for k, v in pairs(value) do
    if k ~= "preset" then
      keys[k] = v
    end
  end
  return keys
end

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
      config.keys = M.keys(value)
    elseif defaults[key] ~= nil or key == "filetypes" or key == "builtin" or key == "cmd" or key == "python" then
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

--- The command that starts the server, or nil and why not.
function M.server_cmd()
  local cmd = M.config.cmd
  if cmd == nil then
    if vim.fn.executable("fim-server") == 1 then
      cmd = { "fim-server" }
    elseif install.installed() then
      cmd = { install.server_path() }
    else
      return nil, "fim-server is not installed: run :FimInstall (or set cmd in setup())"
    end
  elseif vim.fn.executable(cmd[1]) == 0 then
    return nil, ("fim-server: cmd %s is not executable: fix cmd in setup(), or remove it and run :FimInstall"):format(cmd[1])
  end
  if M.config.demo then
    cmd = vim.list_extend(vim.deepcopy(cmd), { "--demo" })
  end
  return cmd
end

-- One notice per missing server (not per buffer, not per start attempt).
-- Said after the current step, and not while :FimInstall runs (lazy.nvim calls setup()
-- just before its build step installs the server).
local missing_noted = nil
local function note_missing(why)
  if missing_noted == why then
    return
  end
  missing_noted = why
  vim.schedule(function()
    if not install.running and not M.server_cmd() then
      vim.notify(why, vim.log.levels.WARN)
    end
  end)
end

--- Redraw the statuslines once the state changed (coalesced to one redraw per tick).
local redraw_pending = false
function M.redraw()
  if redraw_pending then
    return
  end
  redraw_pending = true
  vim.schedule(function()
    redraw_pending = false
    pcall(vim.cmd.redrawstatus, { bang = true })
  end)
end

--- Start (or reuse) the server for `bufnr`.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if not wanted(bufnr) then
    return nil
  end
  local cmd, why = M.server_cmd()
  if not cmd then
    note_missing(why)
    return nil
  end
  local handlers = {
    ["window/showMessage"] = function(err, result, ctx, cfg)
      if result and result.type and result.type <= 2 then
        M.last_message = result.message
        M.redraw()
      end
      return vim.lsp.handlers["window/showMessage"](err, result, ctx, cfg)
    end,
    -- the server's own state: busy while a provider call runs, error with a short reason
    ["fimServer/status"] = function(_, result)
      if type(result) == "table" then
        M.server_state = result
        M.redraw()
      end
    end,
  }
  return vim.lsp.start({
    name = M.name,
    cmd = cmd,
    root_dir = vim.fn.getcwd(),
    capabilities = capabilities(),
    -- "client" tells the server its messages should name setup()'s apiKey
    init_options = { fimServer = section(), client = "neovim-plugin" },
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

--- FimGhost: grey in both colour modes (a bare link to Comment has no cterm colour in
--- the default scheme, so without 'termguicolors' ghost text looked like real code).
--- default = true: a colour scheme or the user's own FimGhost wins.
function M.highlights()
  vim.api.nvim_set_hl(0, "FimGhost", { fg = "#808080", ctermfg = 244, italic = true, default = true })
  vim.api.nvim_set_hl(0, "FimGhostCount", { fg = "#5f87af", ctermfg = 67, default = true })
end

local function autocmds()
  local group = vim.api.nvim_create_augroup("fim", { clear = true })
  vim.api.nvim_create_autocmd("ColorScheme", { group = group, callback = M.highlights })
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

--- For 'statusline': "FIM", "FIM…" while waiting, "FIM 2/3" while cycling,
--- "FIM off", "FIM !" after an error (lua/fim/status.lua).
function M.statusline()
  return require("fim.status").statusline(M)
end

--- The lines :FimStatus prints.
function M.status()
  return require("fim.status").lines(M)
end

M.use_builtin = use_builtin

function M.setup(opts)
  local config, settings, unknown = split_options(opts)
  M.config, M.settings = config, settings
  if #unknown > 0 then
    vim.notify("fim: unknown option(s) ignored: " .. table.concat(unknown, ", "), vim.log.levels.WARN)
  end
  M.highlights()
  vim.api.nvim_create_user_command("FimStatus", function()
    vim.api.nvim_echo({ { table.concat(M.status(), "\n") } }, true, {})
  end, { desc = "fim-server: provider, model, base URL, key, state and counters" })
  require("fim.commands").define()
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
  if M.server_state and M.server_state.state == "error" then
    M.server_state = { state = "idle", reason = "" } -- the server says so too, 30 ms later
  end
  M.redraw()
end
ghost.on_state = function()
  M.redraw()
end

M.ghost = ghost
return M
