-- fim-server: nothing runs until require("fim").setup({...}) is called; :FimInstall
-- and :checkhealth fim work before that.
if vim.g.loaded_fim then
  return
end
vim.g.loaded_fim = true
if vim.fn.has("nvim-0.10") == 0 then
  vim.notify("fim-server needs Neovim 0.10 or newer", vim.log.levels.WARN)
  return
end
require("fim.commands").define()
