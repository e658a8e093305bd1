// The fimServer.* settings that go to the server, by their wire names (the same
// camelCase names as fim_server/settings.py). serverPath, serverArgs belong to the
// extension only; the API key comes from secret storage.
import type * as vscode from "vscode";

export const SECRET_KEY = "fimServer.apiKey";

export const SERVER_SETTINGS = [
  "enabled",
  "provider",
  "baseUrl",
  "model",
  "maxTokens",
  "temperature",
  "stream",
  "debounceMs",
  "timeoutMs",
  "maxPrefixChars",
  "maxSuffixChars",
  "stop",
  "cacheSize",
  "cacheTtlSeconds",
  "singleLineMidLine",
  "completionFallback",
  "disabledLanguages",
  "template",
  "excludeGlobs",
  "caBundle",
  "fatalRetrySeconds",
  "disabledFilters",
  "syntaxCheck",
  "workspaceContext",
  "contextBudgetChars",
  "adaptiveDebounce",
  "streamEarlyStop",
  "inflightReuse",
  "forwardCache",
  "speculativeNext",
  "promptAnchorLines",
] as const;

/** The section sent to the server: only values the user set (so the server's own
 * defaults and validation apply), plus the key from secret storage when there is one. */
export function serverSection(config: vscode.WorkspaceConfiguration, apiKey: string | undefined): Record<string, unknown> {
  const section: Record<string, unknown> = {};
  for (const name of SERVER_SETTINGS) {
    const info = config.inspect(name);
    const value =
      info?.workspaceFolderValue ?? info?.workspaceValue ?? info?.globalValue ?? undefined;
    if (value !== undefined) section[name] = value;
  }
  if (apiKey) section.apiKey = apiKey;
  return section;
}
