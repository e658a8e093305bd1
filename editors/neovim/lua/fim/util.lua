-- Small helpers that do not depend on the Neovim version: position units,
-- LSP calls across the 0.10 (dot) and 0.11+ (colon) client methods.
local M = {}

--- Length in `encoding` units ("utf-8", "utf-16", "utf-32") of the UTF-8 string `s`.
function M.units(s, encoding)
  if encoding == "utf-8" then
    return #s
  end
  local n, i = 0, 1
  while i <= #s do
    local b = s:byte(i)
    local len = b < 0x80 and 1 or b < 0xE0 and 2 or b < 0xF0 and 3 or 4
    if encoding == "utf-16" and len == 4 then
      n = n + 2
    else
      n = n + 1
    end
    i = i + len
  end
  return n
end

--- Byte offset in `line` of `index` units of `encoding` (clamped to the line).
function M.byte_of(line, index, encoding)
  if encoding == "utf-8" then
    return math.min(index, #line)
  end
  local n, i = 0, 1
  while i <= #line and n < index do
    local b = line:byte(i)
    local len = b < 0x80 and 1 or b < 0xE0 and 2 or b < 0xF0 and 3 or 4
    n = n + ((encoding == "utf-16" and len == 4) and 2 or 1)
    i = i + len
  end
  return i - 1
end

local new_api = vim.fn.has("nvim-0.11") == 1

function M.request(client, method, params, handler, bufnr)
  if new_api then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.notify(client, method, params)
  if new_api then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

function M.cancel(client, id)
  if new_api then
    return client:cancel_request(id)
  end
  return client.cancel_request(id)
end

function M.get_client(bufnr, name)
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  return get({ bufnr = bufnr, name = name })[1]
end

--- The text of an InlineCompletionItem (a string or a snippet StringValue).
function M.item_text(item)
  local t = item.insertText
  if type(t) == "table" then
    return t.value or ""
  end
  return t or ""
end

return M
