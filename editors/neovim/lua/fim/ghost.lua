-- Ghost text for Neovim 0.10 and 0.11, which have no vim.lsp.inline_completion:
-- asks the server for textDocument/inlineCompletion while typing in insert mode
-- and shows the answer with ONE reused extmark (first line inline, the rest as
-- virtual lines), highlight group FimGhost; "n/m" (FimGhostCount) after the first
-- line while there are several candidates to cycle.
local util = require("fim.util")

local M = {}

M.ns = vim.api.nvim_create_namespace("fim_ghost")
M.client_name = "fim-server"

-- Per buffer: { mark, items, index, row, col, text, request, tick, own_tick, shown }
local state = {}
M.state = state
M.busy = false

-- Set by init.lua: called when what the statusline shows may have changed.
M.on_state = function() end

local function set_busy(busy)
  if M.busy ~= busy then
    M.busy = busy
    M.on_state()
  end
end

local function buf_state(bufnr)
  local s = state[bufnr]
  if not s then
    s = { items = {}, index = 1 }
    state[bufnr] = s
  end
  return s
end

local function cursor()
  local pos = vim.api.nvim_win_get_cursor(0)
  return pos[1] - 1, pos[2]
end

--- Hide the ghost text (the extmark is kept for reuse) and forget the items.
function M.clear(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local s = state[bufnr]
  if not s then
    return
  end
  if s.request and s.client then
    pcall(util.cancel, s.client, s.request)
  end
  s.request = nil
  s.items, s.index, s.text = {}, 1, nil
  if s.mark and vim.api.nvim_buf_is_valid(bufnr) then
    pcall(vim.api.nvim_buf_del_extmark, bufnr, M.ns, s.mark)
  end
  M.on_state()
end

function M.visible(bufnr)
  local s = state[bufnr or vim.api.nvim_get_current_buf()]
  return s ~= nil and s.text ~= nil and s.text ~= ""
end

--- The part of `item` that is not typed yet, given the cursor (row, col bytes).
--- nil when the item does not fit the cursor.
local function remaining(bufnr, item, row, col, encoding)
  local text = util.item_text(item)
  if not item.range then
    return text
  end
  local r = item.range
  if r.start.line ~= row or r["end"].line ~= row then
    return nil
  end
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local start = util.byte_of(line, r.start.character, encoding)
  if start > col then
    return nil
  end
  local typed = line:sub(start + 1, col)
  if text:sub(1, #typed) ~= typed then
    return nil
  end
  return text:sub(#typed + 1)
end

local function render(bufnr, s)
  local item = s.items[s.index]
  if not item then
    M.clear(bufnr)
    return
  end
  local text = s.partial_text or remaining(bufnr, item, s.row, s.col, s.encoding)
  if not text or text == "" then
    s.text = nil
    if s.mark then
      pcall(vim.api.nvim_buf_del_extmark, bufnr, M.ns, s.mark)
    end
    return
  end
  s.text = text
  local lines = vim.split(text, "\n", { plain = true })
  local virt_text = { { lines[1], "FimGhost" } }
  if #s.items > 1 then
    virt_text[2] = { (" %d/%d"):format(s.index, #s.items), "FimGhostCount" }
  end
  local opts = {
    virt_text = virt_text,
    virt_text_pos = "inline",
    hl_mode = "combine",
    right_gravity = false,
  }
  if #lines > 1 then
    local virt_lines = {}
    for i = 2, #lines do
      virt_lines[#virt_lines + 1] = { { lines[i], "FimGhost" } }
    end
    opts.virt_lines = virt_lines
  end
  opts.id = s.mark
  s.mark = vim.api.nvim_buf_set_extmark(bufnr, M.ns, s.row, s.col, opts)
  M.on_state()
  if not s.shown[s.index] and s.client then
    s.shown[s.index] = true
    util.notify(s.client, "textDocument/didShowCompletion", { item = item })
  end
end

--- Show `items` (InlineCompletionItem[]) for the cursor at (row, col bytes),
--- the first one first.
function M.show(bufnr, client, items, row, col, encoding)
  local s = buf_state(bufnr)
  s.items, s.index, s.row, s.col, s.encoding = items, 1, row, col, encoding or "utf-16"
  s.client, s.partial_text, s.shown = client, nil, {}
  render(bufnr, s)
end

--- Ask the server for completions at the cursor. `invoked`: an explicit request
--- (trigger kind 1, several candidates welcome) rather than typing (kind 2).
function M.request(bufnr, invoked)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = util.get_client(bufnr, M.client_name)
  if not client then
    return
  end
  local s = buf_state(bufnr)
  if s.request then
    pcall(util.cancel, s.client or client, s.request)
    s.request = nil
  end
  local row, col = cursor()
  local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ""
  local encoding = client.offset_encoding or "utf-16"
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = row, character = util.units(line:sub(1, col), encoding) },
    context = { triggerKind = invoked and 1 or 2 },
  }
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  set_busy(true)
  local ok, id
  ok, id = util.request(client, "textDocument/inlineCompletion", params, function(err, result)
    if s.request == id then
      s.request = nil
    end
    set_busy(false)
    if err then
      M.last_error = err.message or tostring(err)
      return
    end
    if not vim.api.nvim_buf_is_valid(bufnr) or vim.api.nvim_get_current_buf() ~= bufnr then
      return
    end
    local r2, c2 = cursor()
    if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick or r2 ~= row or c2 ~= col then
      return -- stale: the text or the cursor moved on
    end
    if not vim.api.nvim_get_mode().mode:match("^i") then
      return
    end
    local items = result and (result.items or result) or {}
    if #items > 0 then
      M.last_error = nil -- the server answers again
      if M.on_items then
        M.on_items()
      end
    end
    M.show(bufnr, client, items, row, col, encoding)
  end, bufnr)
  if ok then
    s.request, s.client = id, client
  else
    set_busy(false)
  end
end

--- Cycle the candidates by `step`; with one candidate, ask for more (Invoked).
function M.cycle(step)
  local bufnr = vim.api.nvim_get_current_buf()
  local s = state[bufnr]
  if not s or #s.items <= 1 then
    M.request(bufnr, true)
    return
  end
  s.index = (s.index - 1 + step) % #s.items + 1
  s.partial_text = nil
  render(bufnr, s)
end

-- Insert `text` at the cursor and move the cursor after it.
local function insert(bufnr, s, text)
  local lines = vim.split(text, "\n", { plain = true })
  vim.api.nvim_buf_set_text(bufnr, s.row, s.col, s.row, s.col, lines)
  local row = s.row + #lines - 1
  local col = #lines == 1 and s.col + #lines[1] or #lines[#lines]
  s.own_tick = vim.api.nvim_buf_get_changedtick(bufnr)
  vim.api.nvim_win_set_cursor(0, { row + 1, col })
  return row, col
end

--- Accept the whole suggestion.
function M.accept()
  local bufnr = vim.api.nvim_get_current_buf()
  local s = state[bufnr]
  if not M.visible(bufnr) then
    return false
  end
  local item, text = s.items[s.index], s.text
  M.clear(bufnr)
  insert(bufnr, s, text)
  if item.command and s.client then
    util.request(s.client, "workspace/executeCommand", {
      command = item.command.command,
      arguments = item.command.arguments,
    }, function() end, bufnr)
  end
  return true
end

local function accept_part(part)
  local bufnr = vim.api.nvim_get_current_buf()
  local s = state[bufnr]
  if not M.visible(bufnr) or part == "" then
    return false
  end
  local item, rest = s.items[s.index], s.text:sub(#part + 1)
  if rest == "" then
    return M.accept()
  end
  if s.mark then
    pcall(vim.api.nvim_buf_del_extmark, bufnr, M.ns, s.mark)
  end
  s.accepted = (s.partial_text and s.accepted or 0) + util.units(part, "utf-16")
  s.row, s.col = insert(bufnr, s, part)
  s.partial_text = rest
  if s.client then
    util.notify(s.client, "textDocument/didPartiallyAcceptCompletion", { item = item, acceptedLength = s.accepted })
  end
  render(bufnr, s)
  return true
end

--- The next word of the suggestion (with the spaces before it).
function M.next_word(text)
  return text:match("^%s*[%w_\128-\255]+") or text:match("^%s*[^%w_%s\128-\255]+") or text:match("^%s+") or text:sub(1, 1)
end

--- The rest of the current line of the suggestion (or the next line when it
--- starts with a line break).
function M.next_line(text)
  local first = text:match("^[^\n]*")
  if first ~= "" then
    return first
  end
  return "\n" .. (text:sub(2):match("^[^\n]*") or "")
end

function M.accept_word()
  local s = state[vim.api.nvim_get_current_buf()]
  return s ~= nil and s.text ~= nil and accept_part(M.next_word(s.text))
end

function M.accept_line()
  local s = state[vim.api.nvim_get_current_buf()]
  return s ~= nil and s.text ~= nil and accept_part(M.next_line(s.text))
end

--- Called on TextChangedI: our own insert keeps the rest of a partly accepted
--- suggestion; anything else clears and asks again.
function M.on_text_changed(bufnr)
  local s = buf_state(bufnr)
  if s.own_tick and s.own_tick == vim.api.nvim_buf_get_changedtick(bufnr) then
    return
  end
  M.clear(bufnr)
  M.request(bufnr, false)
end

--- Called on CursorMovedI: clear unless the cursor still sits where the ghost is.
function M.on_cursor_moved(bufnr)
  local s = state[bufnr]
  if not s or not s.text then
    return
  end
  local row, col = cursor()
  if row ~= s.row or col ~= s.col then
    M.clear(bufnr)
  end
end

return M
