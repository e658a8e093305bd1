-- :checkhealth fim: Neovim and the ghost-text path, the server and its version,
-- the key (present or not, never its value), the provider's reachability and model
-- (from `fim-server doctor --json`), and keys that clash with nvim-cmp or blink.cmp.
local M = {}

local h = vim.health

-- blink.cmp's key presets (its config names one, then adds or removes keys)
local BLINK_PRESETS = {
  default = { "<C-Space>", "<C-e>", "<C-y>", "<Up>", "<Down>", "<C-p>", "<C-n>", "<C-b>", "<C-f>", "<Tab>", "<S-Tab>", "<C-k>" },
  ["super-tab"] = { "<C-Space>", "<C-e>", "<Tab>", "<S-Tab>", "<Up>", "<Down>", "<C-p>", "<C-n>", "<C-b>", "<C-f>", "<C-k>" },
  enter = { "<C-Space>", "<C-e>", "<CR>", "<Tab>", "<S-Tab>", "<Up>", "<Down>", "<C-p>", "<C-n>", "<C-b>", "<C-f>", "<C-k>" },
}

local function norm(lhs)
  return vim.fn.keytrans(vim.keycode(lhs))
end

local function loaded(name)
  if package.loaded[name] then
    return package.loaded[name]
  end
  local ok, mod = pcall(require, name)
  return ok and mod or nil
end

--- Insert-mode keys of nvim-cmp and blink.cmp: { ["<Tab>"] = "nvim-cmp", ... }
function M.completion_keys()
  local keys = {}
  local cmp = loaded("cmp")
  if cmp and type(cmp.get_config) == "function" then
    local ok, config = pcall(cmp.get_config)
    for lhs in pairs(ok and type(config) == "table" and config.mapping or {}) do
      keys[norm(lhs)] = "nvim-cmp"
    end
  end
  local blink = loaded("blink.cmp.config")
  local keymap = blink and blink.keymap
  if type(keymap) == "table" then
    for _, lhs in ipairs(BLINK_PRESETS[keymap.preset or "default"] or {}) do
      keys[norm(lhs)] = "blink.cmp"
    end
    for lhs, action in pairs(keymap) do
      if lhs ~= "preset" then
        keys[norm(lhs)] = (action == false or (type(action) == "table" and #action == 0)) and nil or "blink.cmp"
      end
    end
  end
  return keys
end

local function report_keys(fim)
  h.start("fim-server: keys")
  if not fim or not fim.config then
    h.info("keys are mapped by setup()")
    return
  end
  if fim.use_builtin() then
    h.info("Neovim 0.12+: accept, next and previous go through vim.lsp.inline_completion")
  end
  local others = M.completion_keys()
  local clashes = 0
  local names = vim.tbl_keys(fim.config.keys)
  table.sort(names)
  for _, name in ipairs(names) do
    local lhs = fim.config.keys[name]
    if lhs and lhs ~= "" then
      local key = norm(lhs)
      if others[key] then
        clashes = clashes + 1
        h.warn(("%s (%s) is also a %s key"):format(lhs, name, others[key]), {
          ("fim's %s acts only while ghost text is shown, but the mapping made last wins: give one of them another key"):format(lhs),
          "or use the copilot.lua key preset: keys = \"copilot\" (accept with <M-l>)",
        })
      else
        local map = vim.fn.maparg(lhs, "i", false, true)
        if map.buffer == 1 and not tostring(map.desc or ""):find("fim-server", 1, true) then
          clashes = clashes + 1
          h.warn(("%s (%s) has a buffer-local insert mapping in this buffer, which hides fim's"):format(lhs, name))
        end
      end
    end
  end
  if clashes == 0 then
    h.ok("no clash with nvim-cmp, blink.cmp or this buffer's mappings")
  end
end

local function run(cmd, opts)
  local ok, res = pcall(function()
    return vim.system(cmd, vim.tbl_extend("force", { text = true }, opts or {})):wait(30000)
  end)
  if not ok then
    return { code = -1, stdout = "", stderr = tostring(res) }
  end
  return res
end

local function report_server(fim, install)
  h.start("fim-server: server")
  h.info("plugin checkout: " .. install.root())
  local cmd, why
  if fim and fim.config then
    cmd, why = fim.server_cmd()
  elseif vim.fn.executable("fim-server") == 1 then
    cmd = { "fim-server" }
  elseif install.installed() then
    cmd = { install.server_path() }
  else
    why = "fim-server is not installed"
  end
  if not cmd then
    h.error(why, { "run :FimInstall (installs into " .. install.venv() .. ")", "or put fim-server on PATH, or set cmd in setup()" })
    return nil
  end
  local res = run({ cmd[1], "--version" })
  if res.code ~= 0 then
    h.error(("%s --version failed (exit %s): %s"):format(cmd[1], tostring(res.code), vim.trim(res.stderr or "")), { "run :FimInstall again" })
    return nil
  end
  local path = vim.fn.exepath(cmd[1])
  h.ok(("%s at %s"):format(vim.trim(res.stdout), path ~= "" and path or cmd[1]))
  return cmd
end

local function report_provider(fim, cmd)
  h.start("fim-server: provider")
  if fim and fim.config and fim.config.demo then
    h.ok("demo = true: answers come from the server's built-in fake (no key, no network); remove it to use a provider")
    return
  end
  local settings = (fim and fim.config and fim.settings) or {}
  local res = run({ cmd[1], "doctor", "--json", "--timeout", "5", "--settings", "-" }, { stdin = vim.json.encode(next(settings) and settings or vim.empty_dict()) })
  local ok, report = pcall(vim.json.decode, res.stdout or "")
  if not ok or type(report) ~= "table" or not report.checks then
    h.error("fim-server doctor gave no report: " .. vim.trim((res.stderr or "") .. (res.stdout or "")))
    return
  end
  h.info(("provider %s, model %s, base URL %s"):format(report.provider, report.model, report.baseUrl))
  for _, check in ipairs(report.checks) do
    if check.name == "API key" then -- the detail shows part of the key: say only where it comes from
      if type(settings.apiKey) == "string" and settings.apiKey ~= "" then
        h.ok("API key: present (apiKey in setup())")
      elseif check.status == "ok" and report.keyEnv and (vim.env[report.keyEnv] or "") ~= "" then
        h.ok(("API key: present ($%s)"):format(report.keyEnv))
      elseif check.status == "ok" then
        h.ok("API key: none needed by this provider")
      else
        h.error("API key: none", { ("give apiKey in setup() or set $%s in Neovim's environment"):format(report.keyEnv or "DEEPSEEK_API_KEY") })
      end
    elseif check.status == "ok" then
      h.ok(("%s: %s"):format(check.name, check.detail))
    elseif check.status == "FAIL" then
      h.error(("%s: %s"):format(check.name, check.detail))
    elseif check.status == "warn" then
      h.warn(("%s: %s"):format(check.name, check.detail))
    else
      h.info(("%s: %s"):format(check.name, check.detail))
    end
  end
end

function M.check()
  local install = require("fim.install")
  local fim = package.loaded["fim"]
  h.start("fim-server: Neovim")
  local v = vim.version()
  local version = ("%d.%d.%d"):format(v.major, v.minor, v.patch)
  if vim.fn.has("nvim-0.10") == 0 then
    h.error("Neovim " .. version .. ": fim-server needs 0.10 or newer")
  else
    h.ok("Neovim " .. version)
  end
  if not fim or not fim.config then
    h.warn("require('fim').setup() has not been called", { "call it in your config (lazy.nvim: opts = {})" })
  else
    h.ok("ghost text: " .. (fim.use_builtin() and "vim.lsp.inline_completion (Neovim 0.12+)" or "fim.ghost (the plugin's extmark; Neovim 0.10/0.11)"))
  end
  local cmd = report_server(fim, install)
  if cmd then
    report_provider(fim, cmd)
  end
  report_keys(fim)
end

return M
