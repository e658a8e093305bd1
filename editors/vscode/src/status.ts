// The status bar item: idle, busy, off, or error with the reason; a click toggles.
import * as vscode from "vscode";

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  private enabled = true;
  private reason: string | undefined;

  constructor() {
    this.item.command = "fimServer.toggle";
    this.item.name = "fim-server";
    this.idle();
    this.item.show();
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    if (enabled) this.reason = undefined;
    this.render("idle");
  }

  /** Not waiting any more; a reported error stays until `ok()`. */
  idle(): void {
    this.render(this.reason ? "error" : "idle");
  }

  /** A completion came back: whatever went wrong before is over. */
  ok(): void {
    this.reason = undefined;
    this.render("idle");
  }

  busy(): void {
    this.render("busy");
  }

  error(reason: string): void {
    this.reason = reason;
    this.render("error");
  }

  private render(state: "idle" | "busy" | "error"): void {
    this.draw(state);
    // Screen readers (and the end-to-end test) get the same words as the tooltip.
    this.item.accessibilityInformation = { label: String(this.item.tooltip ?? this.item.text) };
  }

  private draw(state: "idle" | "busy" | "error"): void {
    if (!this.enabled) {
      this.item.text = "$(circle-slash) FIM off";
      this.item.tooltip = "fim-server is off: click to turn it on";
      this.item.backgroundColor = undefined;
      return;
    }
    if (state === "error") {
      this.item.text = "$(error) FIM";
      this.item.tooltip = `fim-server: ${this.reason}\nClick to turn completions off`;
      this.item.backgroundColor = new vscode.ThemeColor("statusBarItem.errorBackground");
      return;
    }
    this.item.backgroundColor = undefined;
    this.item.text = state === "busy" ? "$(sync~spin) FIM" : "$(check) FIM";
    this.item.tooltip = state === "busy" ? "fim-server: asking the provider" : "fim-server: ready (click to turn off)";
  }

  dispose(): void {
    this.item.dispose();
  }
}
