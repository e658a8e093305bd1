// API keys in VS Code's secret storage, each bound to the provider host it was
// given for (issue 18): a key goes only where the user sent it. A key in the
// environment VS Code was started with (DEEPSEEK_API_KEY, ...) counts as given
// for the host of the user's own settings when that host is the provider's own
// (providers.ts envKeyAllowed, the server's rule).
import type * as vscode from "vscode";

const SECRET = "fimServer.apiKeys"; // JSON {host: key}
const LEGACY_SECRET = "fimServer.apiKey"; // one key, before keys were bound to a host

export class KeyStore {
  constructor(private readonly secrets: vscode.SecretStorage) {}

  private async read(): Promise<Record<string, string>> {
    try {
      const raw = JSON.parse((await this.secrets.get(SECRET)) ?? "{}");
      return raw && typeof raw === "object" ? raw : {};
    } catch {
      return {};
    }
  }

  /** A key stored before keys had hosts belongs to the host of the user's settings. */
  async migrate(userHost: string | undefined): Promise<void> {
    const old = await this.secrets.get(LEGACY_SECRET);
    if (!old || !userHost) return;
    const keys = await this.read();
    keys[userHost] ??= old;
    await this.secrets.store(SECRET, JSON.stringify(keys));
    await this.secrets.delete(LEGACY_SECRET);
  }

  /** The first stored key among ``hosts``; the environment's key (``envName``, "" for none) only for ``userHost``. */
  async keyFor(hosts: string[], userHost: string | undefined, envName: string): Promise<string | undefined> {
    const keys = await this.read();
    for (const host of hosts) {
      if (keys[host]) return keys[host];
      if (envName && host === userHost && process.env[envName]) return process.env[envName];
    }
    return undefined;
  }

  async store(host: string, key: string): Promise<void> {
    const keys = await this.read();
    keys[host] = key;
    await this.secrets.store(SECRET, JSON.stringify(keys));
  }

  async clear(host?: string): Promise<void> {
    if (host === undefined) {
      await this.secrets.delete(SECRET);
      await this.secrets.delete(LEGACY_SECRET);
      return;
    }
    const keys = await this.read();
    delete keys[host];
    await this.secrets.store(SECRET, JSON.stringify(keys));
  }

  isOurs(key: string): boolean {
    return key === SECRET || key === LEGACY_SECRET;
  }
}
