// fim-server for VS Code: starts the language server, passes the fimServer.*
// settings through (the API key from secret storage, never from settings files),
// and shows the server's state in the status bar.
import * as vscode from "vscode";
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  MessageType,
  ServerOptions,
  ShowMessageNotification,
  State,
} from "vscode-languageclient/node";
import { SECRET_KEY, serverSection } from "./settings";
import { StatusItem } from "./status";

let client: LanguageClient | undefined;
let status: StatusItem | undefined;
let output: vscode.LogOutputChannel | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("fim-server", { log: true });
  status = new StatusItem();
  context.subscriptions.push(output, status);

  const readSection = async () => serverSection(vscode.workspace.getConfiguration("fimServer"), await context.secrets.get(SECRET_KEY));

  const sendSettings = async () => {
    if (client?.state === State.Running) {
      await client.sendNotification(DidChangeConfigurationNotification.type, { settings: { fimServer: await readSection() } });
    }
    // New settings or a new key: give the server a fresh chance.
    status?.ok();
    status?.setEnabled(vscode.workspace.getConfiguration("fimServer").get<boolean>("enabled", true));
  };

  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration("fimServer.serverPath") || e.affectsConfiguration("fimServer.serverArgs")) {
        await restart(context, readSection);
      } else if (e.affectsConfiguration("fimServer")) {
        await sendSettings();
      }
    }),
    context.secrets.onDidChange(async (e) => {
      if (e.key === SECRET_KEY) await sendSettings();
    }),
    vscode.commands.registerCommand("fimServer.toggle", async () => {
      const config = vscode.workspace.getConfiguration("fimServer");
      const now = config.get<boolean>("enabled", true);
      await config.update("enabled", !now, vscode.ConfigurationTarget.Global);
    }),
    vscode.commands.registerCommand("fimServer.showLog", () => output?.show(true)),
    vscode.commands.registerCommand("fimServer.showStats", async () => {
      if (!client || client.state !== State.Running) {
        vscode.window.showWarningMessage("fim-server is not running.");
        return;
      }
      const stats = await client.sendRequest(ExecuteCommandRequest.type, { command: "fimServer.stats", arguments: [] });
      output?.appendLine("fim-server stats: " + JSON.stringify(stats, null, 2));
      output?.show(true);
      const s = (stats ?? {}) as Record<string, number>;
      vscode.window.showInformationMessage(
        `fim-server: ${s.requests ?? 0} requests, ${s.provider_calls ?? 0} provider calls, ` +
          `${s.shown ?? 0} shown, ${s.accepted ?? 0} accepted, ${s.partially_accepted ?? 0} partly accepted`,
      );
    }),
    vscode.commands.registerCommand("fimServer.setApiKey", async () => {
      const key = await vscode.window.showInputBox({ prompt: "API key for the FIM provider", password: true, ignoreFocusOut: true });
      if (key) await context.secrets.store(SECRET_KEY, key.trim());
    }),
    vscode.commands.registerCommand("fimServer.clearApiKey", async () => {
      await context.secrets.delete(SECRET_KEY);
    }),
    vscode.commands.registerCommand("fimServer.restart", () => restart(context, readSection)),
  );

  status.setEnabled(vscode.workspace.getConfiguration("fimServer").get<boolean>("enabled", true));
  await start(context, readSection);
}

async function start(context: vscode.ExtensionContext, readSection: () => Promise<Record<string, unknown>>): Promise<void> {
  const config = vscode.workspace.getConfiguration("fimServer");
  const command = config.get<string>("serverPath", "fim-server") || "fim-server";
  const args = config.get<string[]>("serverArgs", []);
  const serverOptions: ServerOptions = { command, args };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: "file" }, { scheme: "untitled" }],
    outputChannel: output,
    initializationOptions: await readSection(),
    middleware: {
      provideInlineCompletionItems: async (document, position, ctx, token, next) => {
        // Per-language enable: fimServer.enabled may be overridden for a language.
        if (!vscode.workspace.getConfiguration("fimServer", document).get<boolean>("enabled", true)) return null;
        status?.busy();
        try {
          const result = await next(document, position, ctx, token);
          const items = Array.isArray(result) ? result : result?.items;
          if (items && items.length > 0) status?.ok();
          else status?.idle();
          return result;
        } catch (err) {
          if (!token.isCancellationRequested) status?.error(String((err as Error)?.message ?? err));
          else status?.idle();
          throw err;
        }
      },
      // The menu fallback is for editors without inline completion: not here.
      provideCompletionItem: () => null,
      workspace: {
        // The server asks for the fimServer section: answer with the server's
        // settings only (not serverPath/serverArgs) and the key from secret storage.
        configuration: async (params, token, next) => {
          const result = await next(params, token);
          if (!Array.isArray(result)) return result;
          const section = await readSection();
          return result.map((value, i) => (params.items[i]?.section === "fimServer" ? section : value));
        },
      },
    },
  };
  client = new LanguageClient("fimServer", "fim-server", serverOptions, clientOptions);
  client.onDidChangeState((e) => {
    if (e.newState === State.Stopped) status?.error("the server stopped (see fim-server: Show log)");
    if (e.newState === State.Running) status?.ok();
  });
  try {
    await client.start();
  } catch (err) {
    const reason = `could not start ${command}: ${String((err as Error)?.message ?? err)}`;
    status?.error(reason);
    output?.appendLine(reason);
    vscode.window.showErrorMessage(`fim-server: ${reason}. Set fimServer.serverPath.`);
    return;
  }
  // Messages from the server: shown as usual, and errors/warnings also put the
  // reason in the status bar.
  client.onNotification(ShowMessageNotification.type, (params) => {
    if (params.type === MessageType.Error || params.type === MessageType.Warning) {
      status?.error(params.message);
      if (params.type === MessageType.Error) vscode.window.showErrorMessage(params.message);
      else vscode.window.showWarningMessage(params.message);
    } else {
      vscode.window.showInformationMessage(params.message);
    }
  });
  // The server's own state (fimServer/status): busy while a provider call runs,
  // error with a short reason when one failed, idle otherwise.
  client.onNotification("fimServer/status", (params: { state?: string; reason?: string }) => {
    if (params?.state === "busy") status?.busy();
    else if (params?.state === "error") status?.error(params.reason || "the provider call failed");
    else status?.idle();
  });
  context.subscriptions.push({ dispose: () => void client?.stop() });
}

async function restart(context: vscode.ExtensionContext, readSection: () => Promise<Record<string, unknown>>): Promise<void> {
  const old = client;
  client = undefined;
  if (old) {
    try {
      await old.stop();
    } catch {
      // already stopped
    }
  }
  await start(context, readSection);
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop();
}
