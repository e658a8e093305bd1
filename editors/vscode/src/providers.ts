// What the extension must know of each provider before the server runs: its
// default address (to tell which host a key goes to), whether it needs a key,
// the environment variable the server would read, and where to get a key.
// The same table as PROVIDER_DEFAULTS in fim_server/settings.py (a test checks it).

export interface ProviderInfo {
  label: string;
  baseUrl: string;
  keyEnv: string;
  keyRequired: boolean;
  keyUrl: string;
  /** The hosts keyEnv may be sent to (the server's rule, fim_server/providers/catalog.py). */
  keyHosts: string[];
}

const LOOPBACK = ["localhost", "127.0.0.1", "::1"];

export const PROVIDERS: Record<string, ProviderInfo> = {
  deepseek: { label: "DeepSeek", baseUrl: "https://api.deepseek.com/beta", keyEnv: "DEEPSEEK_API_KEY", keyRequired: true, keyUrl: "https://platform.deepseek.com/api_keys", keyHosts: ["api.deepseek.com"] },
  openai: { label: "OpenAI-compatible server", baseUrl: "http://127.0.0.1:8000/v1", keyEnv: "OPENAI_API_KEY", keyRequired: false, keyUrl: "your server's documentation", keyHosts: ["api.openai.com"] },
  ollama: { label: "Ollama", baseUrl: "http://127.0.0.1:11434", keyEnv: "OLLAMA_API_KEY", keyRequired: false, keyUrl: "https://ollama.com", keyHosts: ["ollama.com", ...LOOPBACK] },
  llamacpp: { label: "llama.cpp", baseUrl: "http://127.0.0.1:8080", keyEnv: "LLAMA_API_KEY", keyRequired: false, keyUrl: "https://github.com/ggml-org/llama.cpp", keyHosts: LOOPBACK },
  codestral: { label: "Codestral (Mistral)", baseUrl: "https://api.mistral.ai/v1", keyEnv: "MISTRAL_API_KEY", keyRequired: true, keyUrl: "https://console.mistral.ai/codestral", keyHosts: ["api.mistral.ai", "codestral.mistral.ai"] },
};

export function providerInfo(name: string | undefined): ProviderInfo {
  return PROVIDERS[name ?? "deepseek"] ?? PROVIDERS.deepseek;
}

/** Whether the provider's environment variable may go to ``url``: its own host over
 * https, or plain http to this machine (the same rule as the server's). */
export function envKeyAllowed(info: ProviderInfo, url: string | undefined): boolean {
  if (!url) return false;
  try {
    const parsed = new URL(url);
    const host = parsed.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
    if (!info.keyHosts.includes(host)) return false;
    return parsed.protocol === "https:" || (parsed.protocol === "http:" && LOOPBACK.includes(host));
  } catch {
    return false;
  }
}

/** host[:port] of a URL, lower case; undefined for a URL that does not parse. */
export function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).host.toLowerCase() || undefined;
  } catch {
    return undefined;
  }
}

/** Every provider key variable: the server is started without them (the extension
 * decides where a key may go and passes it in the settings). */
export const KEY_ENV_NAMES = [...new Set(Object.values(PROVIDERS).map((p) => p.keyEnv))];
