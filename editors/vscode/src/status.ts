// The status bar item. States, most important first: off everywhere, snoozed,
// off for the active editor's language, an error (red: needs the user), a
// warning (a rate limit or an outage that heals by itself, with the seconds until
// the retry), no key, busy, ready. A click opens the menu (menu.ts).
import * as vscode from "vscode";

export interface StatusInfo {
  extensionVersion: string;
  serverVersion?: string;
  serverSource?: string;
  provider?: string;
  host?: string;
  folderNote?: string;
}

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("fim-server", vscode.StatusBarAlignment.Right, 100);
  private enabled = true;
  private languageOff: string | undefined;
  private snoozedUntil = 0;
  private busyNow = false;
  private problem: { kind: "error" | "warning" | "nokey" | "starting"; reason: string; retryAt?: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  info: StatusInfo;

  constructor(extensionVersion: string) {
    this.info = { extensionVersion };
    this.item.command = "fimServer.menu";
    this.item.name = "fim-server";
    this.render();
    this.item.show();
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.render();
  }

  /** The language of the active editor when completions are off for it. */
  setLanguageOff(language: string | undefined): void {
    this.languageOff = language;
    this.render();
  }

  setSnooze(until: number): void {
    this.snoozedUntil = until;
    this.render();
  }

  setInfo(info: Partial<StatusInfo>): void {
    this.info = { ...this.info, ...info };
    this.render();
  }

  busy(): void {
    this.busyNow = true;
    this.render();
  }

  /** Not waiting any more; a reported problem stays until `ok()`. */
  idle(): void {
    this.busyNow = false;
    this.render();
  }

  /** A call succeeded: whatever went wrong before is over. */
  ok(): void {
    this.busyNow = false;
    this.problem = undefined;
    this.render();
  }

  error(reason: string): void {
    this.busyNow = false;
    this.problem = { kind: "error", reason };
    this.render();
  }

  /** Heals by itself: a warning, with a countdown when the retry time is known. */
  warning(reason: string, retryInSeconds?: number): void {
    this.busyNow = false;
    this.problem = { kind: "warning", reason, retryAt: retryInSeconds !== undefined ? Date.now() + retryInSeconds * 1000 : undefined };
    this.render();
  }

  /** No key: shown unless a worse problem (a server that cannot start) is. */
  noKey(reason: string): void {
    if (this.problem?.kind === "error") return;
    this.problem = { kind: "nokey", reason };
    this.render();
  }

  starting(reason: string): void {
    this.problem = { kind: "starting", reason };
    this.render();
  }

  get state(): string {
    return this.problem?.kind ?? (this.busyNow ? "busy" : "ready");
  }

  private render(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
    const tail = [
      `fim-server ${this.info.extensionVersion}` + (this.info.serverVersion ? `, server ${this.info.serverVersion}` : ""),
      this.info.provider ? `provider: ${this.info.provider}${this.info.host ? " at " + this.info.host : ""}` : "",
      this.info.serverSource ? `server: ${this.info.serverSource}` : "",
      this.info.folderNote ?? "",
      "Click for the menu",
    ].filter(Boolean);
    this.item.tooltip = [String(this.item.tooltip ?? ""), ...tail].join("\n");
    // Screen readers (and the end-to-end tests) get the same words as the tooltip.
    this.item.accessibilityInformation = { label: String(this.item.tooltip) };
  }

  private draw(): void {
    this.item.backgroundColor = undefined;
    if (!this.enabled) {
      this.item.text = "$(circle-slash) FIM off";
      this.item.tooltip = "fim-server is off everywhere";
      return;
    }
    const snoozeLeft = this.snoozedUntil - Date.now();
    if (snoozeLeft > 0) {
      const minutes = Math.ceil(snoozeLeft / 60_000);
      this.item.text = `$(clock) FIM ${minutes} min`;
      this.item.tooltip = `fim-server is snoozed for ${minutes} more minute${minutes === 1 ? "" : "s"}`;
      this.timer = setTimeout(() => this.render(), Math.min(snoozeLeft, 60_000));
      return;
    }
    if (this.languageOff) {
      this.item.text = `$(circle-slash) FIM off for ${this.languageOff}`;
      this.item.tooltip = `fim-server is off for ${this.languageOff} files`;
      return;
    }
    const p = this.problem;
    if (p?.kind === "error") {
      this.item.text = "$(error) FIM";
      this.item.tooltip = `fim-server: ${p.reason}`;
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
      return;
    }
    if (p?.kind === "warning") {
      const left = p.retryAt !== undefined ? Math.ceil((p.retryAt - Date.now()) / 1000) : undefined;
      this.item.text = left !== undefined && left > 0 ? `$(warning) FIM ${left}s` : "$(warning) FIM";
      this.item.tooltip = `fim-server: ${p.reason}` + (left !== undefined && left > 0 ? `\nRetrying in ${left} s` : "");
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.warningBackground");
      if (left !== undefined && left > 0) this.timer = setTimeout(() => this.render(), 1000);
      return;
    }
    if (p?.kind === "nokey") {
      this.item.text = "$(key) FIM: no key";
      this.item.tooltip = `fim-server: ${p.reason}`;
      return;
    }
    if (p?.kind === "starting") {
      this.item.text = "$(sync~spin) FIM";
      this.item.tooltip = `fim-server: ${p.reason}`;
      return;
    }
    this.item.text = this.busyNow ? "$(sync~spin) FIM" : "$(check) FIM";
    this.item.tooltip = this.busyNow ? "fim-server: asking the provider" : "fim-server: ready";
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.item.dispose();
  }
}
