// fim-server for VS Code: finds (or installs) the server and starts it, passes the
// fimServer.* settings through (the key from secret storage, only to the host it
// was given for; a folder's provider, address or certificates only once the user
// said so), and shows the server's state in the status bar.
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  ShowMessageNotification,
  State,
} from "vscode-languageclient/node";
import { Decision, Decisions, makePlan, Plan } from "./guard";
import { KeyStore } from "./keys";
import { Found, findInstalled, LocateError, privateServer } from "./locate";
import { showMenu } from "./menu";
import { envKeyAllowed, hostOf, KEY_ENV_NAMES, PROVIDERS, providerInfo } from "./providers";
import { StatusItem } from "./status";

const SNOOZE = "fimServer.snoozeUntil";
const FIRST_RUN_DISMISSED = "fimServer.firstRunDismissed"; // hosts the user said "Not now" for
const KEY_PROBLEM = /API key|\b40[12]\b|balance/i;

let client: LanguageClient | undefined;
let ext: Extension | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  ext = new Extension(context);
  await ext.activate();
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop();
}

class Extension {
  readonly output = vscode.window.createOutputChannel("fim-server", { log: true });
  readonly version: string;
  readonly status: StatusItem;
  readonly keys: KeyStore;
  readonly decisions: Decisions;
  private asked = new Set<string>(); // folder questions shown in this session
  private keyToastOpen = false;
  private firstRunShown = false;
  private lastShown = "";
  private started: Promise<void> = Promise.resolve();

  constructor(private readonly context: vscode.ExtensionContext) {
    this.version = String(context.extension.packageJSON.version ?? "?");
    this.status = new StatusItem(this.version);
    this.keys = new KeyStore(context.secrets);
    this.decisions = new Decisions(context.globalStorageUri.fsPath);
    context.subscriptions.push(this.output, this.status);
  }

  config(scope?: vscode.ConfigurationScope): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration("fimServer", scope);
  }

  folderId(): string | undefined {
    return (vscode.workspace.workspaceFile ?? vscode.workspace.workspaceFolders?.[0]?.uri)?.toString();
  }

  plan(): Plan {
    const config = this.config();
    return makePlan((name) => config.inspect(name), this.folderId(), vscode.workspace.isTrusted, this.decisions.all());
  }

  async key(plan: Plan): Promise<string | undefined> {
    const userProvider = String(this.config().inspect("provider")?.globalValue ?? "deepseek");
    const info = providerInfo(userProvider);
    // the environment's key only for its provider's own host (issue 13, item 7), as the server decides
    const userBase = (this.config().inspect("baseUrl")?.globalValue as string | undefined) || info.baseUrl;
    return this.keys.keyFor(plan.keyHosts, plan.userHost, envKeyAllowed(info, userBase) ? info.keyEnv : "");
  }

  /** The section the server gets: the plan's settings and the key that may go there. */
  async section(): Promise<Record<string, unknown>> {
    const plan = this.plan();
    const key = await this.key(plan);
    this.status.setInfo({
      provider: providerInfo(plan.provider).label,
      host: plan.host,
      folderNote: plan.applied.length ? "from this folder's settings: " + plan.applied.join(", ") : undefined,
    });
    return key ? { ...plan.section, apiKey: key } : plan.section;
  }

  async sendSettings(): Promise<void> {
    if (client?.state === State.Running) {
      await client.sendNotification(DidChangeConfigurationNotification.type, { settings: { fimServer: await this.section() } });
    } else {
      await this.section();
    }
    if (client?.state === State.Running) this.status.ok(); // new settings or a new key: a fresh chance
    await this.showMissingKey();
    this.refreshSwitches();
    void this.askAboutFolder();
  }

  refreshSwitches(): void {
    this.status.setEnabled(this.config().inspect<boolean>("enabled")?.globalValue ?? true);
    this.status.setSnooze(this.context.globalState.get<number>(SNOOZE, 0));
    const editor = vscode.window.activeTextEditor;
    const language = editor?.document.languageId;
    this.status.setLanguageOff(language && !this.languageOn(editor!.document) ? language : undefined);
  }

  languageOn(document: vscode.TextDocument): boolean {
    const on = this.config(document).get<boolean>("enabled", true);
    const disabled = this.config().get<string[]>("disabledLanguages", []);
    return on && !disabled.includes(document.languageId);
  }

  async activate(): Promise<void> {
    const context = this.context;
    this.output.info(`fim-server extension ${this.version}`);
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration(async (e) => {
        if (e.affectsConfiguration("fimServer.serverPath") || e.affectsConfiguration("fimServer.serverArgs")) await this.restart();
        else if (e.affectsConfiguration("fimServer")) await this.sendSettings();
        // the server reads files.exclude again (the index skips what it hides)
        else if (e.affectsConfiguration("files.exclude") && client?.state === State.Running)
          await client.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.sendSettings()),
      vscode.window.onDidChangeActiveTextEditor(() => this.refreshSwitches()),
      context.secrets.onDidChange(async (e) => {
        if (this.keys.isOurs(e.key)) await this.sendSettings();
      }),
      vscode.commands.registerCommand("fimServer.menu", () => this.menu()),
      vscode.commands.registerCommand("fimServer.toggle", async () => {
        const now = this.config().inspect<boolean>("enabled")?.globalValue ?? true;
        await this.config().update("enabled", !now, vscode.ConfigurationTarget.Global);
      }),
      vscode.commands.registerCommand("fimServer.snooze", (minutes: number) => this.snooze(Number(minutes) || 0)),
      vscode.commands.registerCommand("fimServer.showLog", () => this.output.show(true)),
      vscode.commands.registerCommand("fimServer.showStats", () => this.showStats()),
      vscode.commands.registerCommand("fimServer.setApiKey", () => this.setApiKey()),
      vscode.commands.registerCommand("fimServer.clearApiKey", async () => {
        await this.keys.clear();
        vscode.window.showInformationMessage("fim-server: API keys removed from secret storage.");
      }),
      vscode.commands.registerCommand("fimServer.useLocalModel", () => this.useLocalModel()),
      vscode.commands.registerCommand("fimServer.restart", () => this.restart()),
      vscode.commands.registerCommand("fimServer.forgetFolderDecisions", async () => {
        const id = this.folderId();
        if (id) this.decisions.forgetFolder(id);
        this.asked.clear();
        await this.sendSettings();
      }),
    );
    const plan = this.plan();
    await this.keys.migrate(plan.userHost);
    this.refreshSwitches();
    void this.firstRun(); // at activation, while the server starts (or installs)
    this.started = this.start();
    await this.started;
    void this.askAboutFolder();
  }

  // -- the server ---------------------------------------------------------------
  async locate(): Promise<Found | undefined> {
    // serverPath and serverArgs from the user's settings only: a folder never picks a program
    const serverPath = this.config().inspect<string>("serverPath");
    const args = this.config().inspect<string[]>("serverArgs")?.globalValue ?? [];
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    try {
      const found = findInstalled(serverPath?.globalValue || undefined, folders, vscode.workspace.isTrusted) ?? (await privateServer(this.context, this.output));
      return { ...found, args };
    } catch (err) {
      const reason = err instanceof LocateError ? err.message : String((err as Error)?.message ?? err);
      this.cannotStart(reason);
      return undefined;
    }
  }

  cannotStart(reason: string): void {
    this.output.error(`cannot start the server: ${reason}`);
    this.status.error(`cannot start the server: ${reason}`);
    void vscode.window.showErrorMessage(`fim-server: ${reason}.`, "Locate fim-server…", "Show log", "How to install").then(async (choice) => {
      if (choice === "Show log") this.output.show(true);
      if (choice === "How to install") {
        // vsce stores the README as readme.md
        const name = ["README.md", "readme.md"].find((n) => fs.existsSync(path.join(this.context.extensionPath, n))) ?? "README.md";
        const readme = vscode.Uri.joinPath(this.context.extensionUri, name);
        await vscode.commands.executeCommand("markdown.showPreview", readme).then(undefined, () => vscode.window.showTextDocument(readme));
      }
      if (choice === "Locate fim-server…") {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: "Use this fim-server" });
        if (picked?.[0]) await this.config().update("serverPath", picked[0].fsPath, vscode.ConfigurationTarget.Global);
      }
    });
  }

  async start(): Promise<void> {
    this.status.starting("starting the server");
    const found = await this.locate();
    if (!found) return;
    this.output.info(`server: ${found.command} ${found.args.join(" ")} (from ${found.source})`);
    // The server gets no key from the environment: the extension decides where a key goes.
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) if (value !== undefined && !KEY_ENV_NAMES.includes(name)) env[name] = value;
    const clientOptions: LanguageClientOptions = {
      // Files, and the Python cells of Jupyter notebooks: the server syncs the whole
      // notebook (LSP 3.17 notebookDocumentSync) and completes a cell with the cells
      // around it as context; vscode-languageclient sends those cells through the
      // notebookDocument/* messages, not as text documents of their own.
      documentSelector: [{ scheme: "file" }, { scheme: "untitled" }, { notebook: "jupyter-notebook", language: "python" }],
      outputChannel: this.output,
      initializationOptions: await this.section(),
      middleware: {
        provideInlineCompletionItems: async (document, position, ctx, token, next) => {
          if (!this.languageOn(document) || this.context.globalState.get<number>(SNOOZE, 0) > Date.now()) return null;
          const result = await next(document, position, ctx, token);
          const items = Array.isArray(result) ? result : result?.items;
          if (items && items.length > 0 && !token.isCancellationRequested) this.reportShown(document, items[0]);
          return result;
        },
        // The menu fallback is for editors without inline completion: not here.
        provideCompletionItem: () => null,
        workspace: {
          // The server asks for the fimServer section: the plan's settings and the key.
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) return result;
            const section = await this.section();
            return result.map((value, i) => (params.items[i]?.section === "fimServer" ? section : value));
          },
        },
      },
    };
    client = new LanguageClient("fimServer", "fim-server", { command: found.command, args: found.args, options: { env } }, clientOptions);
    client.onDidChangeState((e) => {
      if (e.newState === State.Stopped) this.status.error("the server stopped (see Show log)");
    });
    try {
      await client.start();
    } catch (err) {
      client = undefined;
      this.cannotStart(`could not start ${found.command}: ${String((err as Error)?.message ?? err)}`);
      return;
    }
    const serverVersion = client.initializeResult?.serverInfo?.version;
    this.output.info(`server ${serverVersion ?? "(version unknown)"} running`);
    this.status.setInfo({ serverVersion, serverSource: found.source });
    this.status.ok();
    await this.showMissingKey();
    client.onNotification(ShowMessageNotification.type, (params) => this.serverMessage(params.type, params.message));
    client.onNotification("fimServer/status", (p: { state?: string; reason?: string; kind?: string; retryIn?: number }) => {
      if (p?.state === "busy") this.status.busy();
      else if (p?.state === "error") {
        const reason = p.reason || "the provider call failed";
        if (p.kind === "transient") this.status.warning(reason, p.retryIn);
        else if (/^No .* API key/.test(reason)) this.status.noKey(reason);
        else this.status.error(reason);
      } else {
        if (this.status.state !== "ready" && this.status.state !== "busy") this.callSucceeded();
        this.status.idle();
      }
    });
  }

  /** The problem is over: the status clears, and a key toast still up is hidden. */
  callSucceeded(): void {
    this.status.ok();
    if (this.keyToastOpen) {
      this.keyToastOpen = false;
      void vscode.commands.executeCommand("notifications.hideToasts");
    }
  }

  async restart(): Promise<void> {
    const old = client;
    client = undefined;
    if (old) await old.stop().catch(() => undefined);
    this.started = this.start();
    await this.started;
  }

  serverMessage(type: MessageType, message: string): void {
    if (type === MessageType.Error || type === MessageType.Warning) {
      if (KEY_PROBLEM.test(message) && type === MessageType.Error) {
        if (/^No .* API key/.test(message) && this.firstRunShown) return; // the first-run notice said it
        void this.keyToast(message);
        return;
      }
      if (type === MessageType.Error) vscode.window.showErrorMessage(message);
      else vscode.window.showWarningMessage(message);
    } else {
      vscode.window.showInformationMessage(message);
    }
  }

  async keyToast(message: string): Promise<void> {
    if (this.keyToastOpen) return;
    this.keyToastOpen = true;
    const text = message.replace(/set [A-Z_]+ or fimServer\.apiKey/, "run fim-server: Set API key");
    const choice = await vscode.window.showErrorMessage(`fim-server: ${text}`, "Set API key", "Use a local model");
    this.keyToastOpen = false;
    if (choice === "Set API key") await this.setApiKey();
    if (choice === "Use a local model") await this.useLocalModel();
  }

  reportShown(document: vscode.TextDocument, item: vscode.InlineCompletionItem): void {
    // VS Code has no public "shown" event for inline items: a suggestion handed to
    // it for the cursor is counted once (the same text again, while typing, is not).
    const text = typeof item.insertText === "string" ? item.insertText : item.insertText.value;
    const id = `${document.uri.toString()}\n${text}`;
    if (id === this.lastShown) return;
    this.lastShown = id;
    void client?.sendNotification("textDocument/didShowCompletion", { item: { insertText: text } });
  }

  // -- the key ------------------------------------------------------------------
  /** The status says "no key" when the provider needs one and none may go there. */
  async showMissingKey(): Promise<boolean> {
    const plan = this.plan();
    const info = providerInfo(plan.provider);
    if (!info.keyRequired || !plan.host || (await this.key(plan))) return false;
    this.status.noKey(`no API key for ${info.label} (${plan.host}): click, then Set API key`);
    return true;
  }

  async firstRun(): Promise<void> {
    const plan = this.plan();
    const info = providerInfo(plan.provider);
    if (!plan.host || !(await this.showMissingKey())) return;
    if (this.context.globalState.get<string[]>(FIRST_RUN_DISMISSED, []).includes(plan.host)) return;
    this.firstRunShown = true;
    const choice = await vscode.window.showInformationMessage(
      `fim-server needs an API key for ${info.label} (${plan.host}) to suggest code, or a model on this machine.`,
      "Set API key",
      "Use a local model",
      "Not now",
    );
    if (choice === "Set API key") await this.setApiKey();
    else if (choice === "Use a local model") await this.useLocalModel();
    else if (choice === "Not now")
      await this.context.globalState.update(FIRST_RUN_DISMISSED, [...this.context.globalState.get<string[]>(FIRST_RUN_DISMISSED, []), plan.host]);
  }

  async setApiKey(): Promise<void> {
    const plan = this.plan();
    const info = providerInfo(plan.provider);
    const host = plan.host ?? hostOf(info.baseUrl) ?? "";
    const key = await vscode.window.showInputBox({
      title: `fim-server: API key for ${info.label}`,
      prompt: `The key is sent only to ${host}. Get one at ${info.keyUrl}. Kept in VS Code's secret storage.`,
      password: true,
      ignoreFocusOut: true,
    });
    if (!key?.trim()) return;
    await this.keys.store(host, key.trim());
    await this.started;
    await this.sendSettings();
    if (!client || client.state !== State.Running) return;
    try {
      const result = (await client.sendRequest(ExecuteCommandRequest.type, { command: "fimServer.checkKey", arguments: [] })) as {
        ok?: boolean | null;
        message?: string;
      };
      if (result?.ok === true) {
        this.callSucceeded();
        vscode.window.showInformationMessage(`fim-server: ${result.message}.`);
      } else if (result?.ok === false) {
        void this.keyToast(result.message ?? "the key was not accepted");
      } else if (result?.message) {
        vscode.window.showWarningMessage(`fim-server: key stored; ${result.message}.`);
      }
    } catch (err) {
      this.output.info(`the server cannot check keys (${String(err)}); the key is stored`);
    }
  }

  async useLocalModel(): Promise<void> {
    const picks = ["ollama", "llamacpp"].map((name) => ({
      label: PROVIDERS[name].label,
      description: PROVIDERS[name].baseUrl,
      name,
    }));
    const picked = await vscode.window.showQuickPick(picks, { title: "fim-server: a model on this machine" });
    if (!picked) return;
    const config = this.config();
    await config.update("provider", picked.name, vscode.ConfigurationTarget.Global);
    await config.update("baseUrl", undefined, vscode.ConfigurationTarget.Global);
    await config.update("model", undefined, vscode.ConfigurationTarget.Global);
    const hint =
      picked.name === "ollama"
        ? "Start Ollama and pull the model: ollama pull qwen2.5-coder:1.5b-base"
        : "Start llama-server with a FIM model (for example Qwen2.5-Coder) on port 8080";
    vscode.window.showInformationMessage(`fim-server now uses ${picked.label} at ${picked.description}. ${hint}.`);
  }

  // -- folder settings (issue 18) -----------------------------------------------
  async askAboutFolder(): Promise<void> {
    const id = this.folderId();
    for (const q of this.plan().questions) {
      if (this.asked.has(q.id) || !id) continue;
      this.asked.add(q.id);
      const names = q.settings.map((s) => "fimServer." + s).join(" and ");
      const choice = await vscode.window.showWarningMessage(
        `fim-server: this folder's settings (${names}) ${q.what}. Your own settings apply until you answer.`,
        "Allow for this folder",
        "Use without my key",
        "Ignore this folder's setting",
      );
      const decision: Decision | undefined =
        choice === "Allow for this folder" ? "allow" : choice === "Use without my key" ? "nokey" : choice === "Ignore this folder's setting" ? "ignore" : undefined;
      if (!decision) continue; // dismissed: asked again next time
      this.decisions.set(q.id, decision);
      this.output.info(`folder setting ${names}: ${decision}`);
      await this.sendSettings();
    }
  }

  // -- the menu -------------------------------------------------------------------
  async snooze(minutes: number): Promise<void> {
    await this.context.globalState.update(SNOOZE, minutes > 0 ? Date.now() + minutes * 60_000 : 0);
    this.refreshSwitches();
  }

  async menu(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const id = this.folderId();
    await showMenu({
      enabled: this.config().inspect<boolean>("enabled")?.globalValue ?? true,
      snoozed: this.context.globalState.get<number>(SNOOZE, 0) > Date.now(),
      language: editor?.document.languageId,
      languageEnabled: editor ? this.languageOn(editor.document) : true,
      folderDecisions: id ? this.decisions.forFolder(id).length : 0,
      snooze: (m) => this.snooze(m),
      setLanguage: async (language, on) => {
        await vscode.workspace.getConfiguration("fimServer", { languageId: language }).update("enabled", on, vscode.ConfigurationTarget.Global, true);
        this.refreshSwitches();
      },
    });
  }

  async showStats(): Promise<void> {
    if (!client || client.state !== State.Running) {
      vscode.window.showWarningMessage("fim-server is not running.");
      return;
    }
    const stats = await client.sendRequest(ExecuteCommandRequest.type, { command: "fimServer.stats", arguments: [] });
    this.output.info("stats: " + JSON.stringify(stats, null, 2));
    const s = (stats ?? {}) as Record<string, number>;
    vscode.window.showInformationMessage(
      `fim-server: ${s.requests ?? 0} requests, ${s.provider_calls ?? 0} provider calls, ` +
        `${s.shown ?? 0} shown, ${s.accepted ?? 0} accepted, ${s.partially_accepted ?? 0} partly accepted`,
    );
  }
}
