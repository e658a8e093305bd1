-- :FimInstall: a private fim-server in stdpath("data")/fim-server (a Python venv),
-- installed from this plugin's own checkout (the plugin is editors/neovim of the
-- fim-server repository, so the server's source is four folders above this file).
-- Without a UI (nvim --headless) it runs to the end before the command returns;
-- with one it runs in the background and reports each step with vim.notify.
local M = {}

local is_windows = vim.fn.has("win32") == 1

--- The repository root: the folder with pyproject.toml above editors/neovim/lua/fim.
function M.root()
  local here = debug.getinfo(1, "S").source:gsub("^@", "")
  local root = vim.fn.fnamemodify(here, ":p:h:h:h:h:h")
  return root
end

--- Where :FimInstall puts the venv.
function M.venv()
  return vim.fs.joinpath(vim.fn.stdpath("data"), "fim-server")
end

--- The installed server's executable (it may not exist).
function M.server_path()
  if is_windows then
    return vim.fs.joinpath(M.venv(), "Scripts", "fim-server.exe")
  end
  return vim.fs.joinpath(M.venv(), "bin", "fim-server")
end

function M.installed()
  return vim.fn.executable(M.server_path()) == 1
end

M.running = false

local function venv_python()
  if is_windows then
    return vim.fs.joinpath(M.venv(), "Scripts", "python.exe")
  end
  return vim.fs.joinpath(M.venv(), "bin", "python")
end

--- A Python 3.10 or newer: `python` (option or g:fim_python), python3, python.
function M.find_python(wanted)
  local candidates = {}
  local listed = { wanted or false, vim.g.fim_python or false, "python3", "python", is_windows and "py" or false }
  for i = 1, 5 do
    local c = listed[i]
    if c and c ~= "" then
      candidates[#candidates + 1] = c
    end
  end
  local tried = {}
  for _, exe in ipairs(candidates) do
    if vim.fn.executable(exe) == 1 then
      local cmd = { exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); sys.exit(sys.version_info < (3, 10))" }
      if exe == "py" then
        table.insert(cmd, 2, "-3")
      end
      local out = vim.system(cmd, { text = true }):wait()
      local version = vim.trim(out.stdout or "")
      if out.code == 0 then
        return exe == "py" and { "py", "-3" } or { exe }, version
      end
      tried[#tried + 1] = ("%s is %s"):format(exe, version ~= "" and version or "unusable")
    end
  end
  return nil, #tried > 0 and table.concat(tried, ", ") or "no python3 or python on PATH"
end

--- The steps: make the venv (once), then pip install the checkout into it.
local function steps(python, root)
  local list = {}
  if vim.fn.executable(venv_python()) == 0 then
    local cmd = vim.list_extend(vim.deepcopy(python), { "-m", "venv", M.venv() })
    list[#list + 1] = { what = "creating a Python venv", cmd = cmd }
  end
  list[#list + 1] = {
    what = "installing fim-server (pip)",
    cmd = { venv_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", root },
  }
  return list
end

local function tail(text, n)
  local lines = vim.split(vim.trim(text or ""), "\n", { plain = true })
  return table.concat(vim.list_slice(lines, math.max(1, #lines - n + 1)), "\n")
end

local function hint(step, result)
  local out = (result.stderr or "") .. (result.stdout or "")
  if step.cmd[#step.cmd - 1] == "venv" and out:find("ensurepip", 1, true) then
    return "\n(Debian/Ubuntu: install the python3-venv package, then run :FimInstall again)"
  end
  return ""
end

--- Install (or upgrade) the server. opts: { python = "python3.12", on_done = fn(ok, message) }.
--- Synchronous when Neovim has no UI (or opts.sync), else in the background.
function M.install(opts)
  opts = opts or {}
  local sync = opts.sync
  if sync == nil then
    sync = #vim.api.nvim_list_uis() == 0
  end
  local function report(msg, level)
    vim.notify("fim-server: " .. msg, level or vim.log.levels.INFO)
  end
  local function finish(ok, msg)
    M.running = false
    report(msg, ok and vim.log.levels.INFO or vim.log.levels.ERROR)
    if opts.on_done then
      opts.on_done(ok, msg)
    end
  end
  if M.running then
    report("an install is already running", vim.log.levels.WARN)
    return false
  end
  local root = M.root()
  if vim.fn.filereadable(vim.fs.joinpath(root, "pyproject.toml")) == 0 then
    finish(false, ("cannot install: %s is not a fim-server checkout (no pyproject.toml); the plugin must stay in the repository's editors/neovim"):format(root))
    return false
  end
  local python, detail = M.find_python(opts.python)
  if not python then
    finish(false, "cannot install: no Python 3.10 or newer found (" .. detail .. "); set python = '...' in setup() or g:fim_python")
    return false
  end
  M.running = true
  local list = steps(python, root)
  local i = 0
  local run_next
  local function done_step(step, result)
    if result.code ~= 0 then
      finish(false, ("%s failed (exit %d):\n%s%s"):format(step.what, result.code, tail((result.stderr or "") .. (result.stdout or ""), 12), hint(step, result)))
      return false
    end
    return true
  end
  run_next = function()
    i = i + 1
    local step = list[i]
    if not step then
      local version = vim.trim(vim.system({ M.server_path(), "--version" }, { text = true }):wait().stdout or "")
      -- one short line (a longer one would wait for Enter); :checkhealth fim says where
      finish(true, ("installed %s"):format(version ~= "" and version or "the server"))
      return true
    end
    report(("(%d/%d) %s…"):format(i, #list, step.what))
    if sync then
      if not done_step(step, vim.system(step.cmd, { text = true }):wait()) then
        return false
      end
      return run_next()
    end
    vim.system(step.cmd, { text = true }, function(result)
      vim.schedule(function()
        if done_step(step, result) then
          run_next()
        end
      end)
    end)
    return true
  end
  return run_next()
end

return M
