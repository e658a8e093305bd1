-- Commands that work before setup(): :FimInstall (plugin/fim.lua defines them at start-up).
local M = {}

function M.define()
  vim.api.nvim_create_user_command("FimInstall", function(args)
    local fim = package.loaded["fim"]
    local python = args.args ~= "" and args.args or (fim and fim.config and fim.config.python) or nil
    require("fim.install").install({
      python = python,
      on_done = function(ok)
        -- set up already: start the new server for the buffer in front
        if ok and fim and fim.config and fim.enabled then
          fim.attach(vim.api.nvim_get_current_buf())
        end
      end,
    })
  end, {
    nargs = "?",
    complete = "shellcmd",
    desc = "fim-server: install the server into stdpath('data')/fim-server from this plugin's checkout",
  })
end

return M
