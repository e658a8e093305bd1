// Settings a project folder may not change behind the user's back (issue 18):
// the provider and its address (where the code and the key go) and the
// certificate bundle (who may read that traffic). serverPath/serverArgs are read
// from the user's settings only (extension.ts); these three are taken from a
// folder only after the user said so, once per folder and host.
import * as fs from "fs";
import * as path from "path";
import type * as vscode from "vscode";
import { hostOf, providerInfo } from "./providers";
import { SERVER_SETTINGS } from "./settings";

export type Decision = "allow" | "nokey" | "ignore";

export const GUARDED = ["provider", "baseUrl", "caBundle"];

export interface Question {
  id: string;
  /** What the folder asks for, in words. */
  what: string;
  /** The settings the folder sets, e.g. ["baseUrl"]. */
  settings: string[];
}

export interface Plan {
  /** The fimServer section for the server, without the key. */
  section: Record<string, unknown>;
  /** Where completions go now. */
  host: string | undefined;
  /** The host the user's own settings point at. */
  userHost: string | undefined;
  /** Hosts whose stored key may be sent now, first match wins; empty: no key. */
  keyHosts: string[];
  /** The provider in effect (its key variable and label). */
  provider: string;
  /** Folder settings waiting for the user's answer (not applied meanwhile). */
  questions: Question[];
  /** Folder settings in use after the user allowed them. */
  applied: string[];
}

type Inspect = vscode.WorkspaceConfiguration["inspect"];

export function makePlan(
  inspect: Inspect,
  folderId: string | undefined,
  trusted: boolean,
  decisions: Record<string, Decision>,
): Plan {
  const user = (name: string) => inspect(name)?.globalValue;
  const folder = (name: string) => {
    const info = inspect(name);
    return info?.workspaceFolderValue ?? info?.workspaceValue;
  };
  const section: Record<string, unknown> = {};
  for (const name of SERVER_SETTINGS) {
    const value = GUARDED.includes(name) ? user(name) : (folder(name) ?? user(name));
    if (value !== undefined) section[name] = value;
  }
  const userProvider = String(user("provider") ?? "deepseek");
  const userBase = (user("baseUrl") as string | undefined) || providerInfo(userProvider).baseUrl;
  const userHost = hostOf(userBase);
  const plan: Plan = { section, host: userHost, userHost, keyHosts: userHost ? [userHost] : [], provider: userProvider, questions: [], applied: [] };
  if (!trusted || !folderId) return plan; // an untrusted folder changes none of them

  const folderProvider = folder("provider") as string | undefined;
  const folderBase = folder("baseUrl") as string | undefined;
  if (folderProvider !== undefined || folderBase !== undefined) {
    const provider = folderProvider ?? userProvider;
    const base = folderBase || (user("baseUrl") as string | undefined) || providerInfo(provider).baseUrl;
    const host = hostOf(base) ?? String(base);
    const names = [folderProvider !== undefined ? "provider" : "", folderBase !== undefined ? "baseUrl" : ""].filter(Boolean);
    const id = `${folderId}\nhost:${host}`;
    const decision = host === userHost ? "allow" : decisions[id];
    if (decision === undefined) {
      plan.questions.push({ id, what: `send your code to ${host}`, settings: names });
    } else if (decision !== "ignore") {
      if (folderProvider !== undefined) section.provider = folderProvider;
      if (folderBase !== undefined) section.baseUrl = folderBase;
      plan.provider = provider;
      plan.host = host;
      plan.keyHosts = decision === "allow" ? [...new Set([host, ...plan.keyHosts])] : [];
      if (host !== userHost) plan.applied.push(...names.map((n) => `${n} (${host}${decision === "nokey" ? ", without your key" : ""})`));
    }
  }
  const folderCa = folder("caBundle");
  if (folderCa !== undefined && folderCa !== null && folderCa !== user("caBundle")) {
    const id = `${folderId}\nca:${String(folderCa)}`;
    const decision = decisions[id];
    if (decision === undefined) {
      plan.questions.push({ id, what: `make the server trust the certificates in ${String(folderCa)}`, settings: ["caBundle"] });
    } else if (decision !== "ignore") {
      section.caBundle = folderCa;
      if (decision === "nokey") plan.keyHosts = [];
      plan.applied.push(`caBundle (${String(folderCa)}${decision === "nokey" ? ", without your key" : ""})`);
    }
  }
  return plan;
}

/** The user's answers, in a file in the extension's global storage (not in the
 * folder, which could forge them). */
export class Decisions {
  private data: Record<string, Decision> = {};
  private readonly file: string;

  constructor(storageDir: string) {
    this.file = path.join(storageDir, "folder-decisions.json");
    try {
      const raw = JSON.parse(fs.readFileSync(this.file, "utf8"));
      if (raw && typeof raw === "object") this.data = raw;
    } catch {
      // none yet
    }
  }

  all(): Record<string, Decision> {
    return { ...this.data };
  }

  forFolder(folderId: string): string[] {
    return Object.keys(this.data).filter((id) => id.startsWith(folderId + "\n"));
  }

  set(id: string, decision: Decision): void {
    this.data[id] = decision;
    this.save();
  }

  forgetFolder(folderId: string): void {
    for (const id of this.forFolder(folderId)) delete this.data[id];
    this.save();
  }

  private save(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.writeFileSync(this.file, JSON.stringify(this.data, null, 1));
  }
}
