// The status item's menu: snooze, per-language and global switches, the key,
// the log, the stats, a restart, and the folder decisions (issue 18).
import * as vscode from "vscode";

interface Entry extends vscode.QuickPickItem {
  run: () => unknown;
}

export interface MenuState {
  enabled: boolean;
  snoozed: boolean;
  language: string | undefined;
  languageEnabled: boolean;
  folderDecisions: number;
  snooze: (minutes: number) => unknown;
  setLanguage: (language: string, on: boolean) => unknown;
}

export async function showMenu(s: MenuState): Promise<void> {
  const cmd = (id: string) => () => vscode.commands.executeCommand(id);
  const entries: Entry[] = [];
  if (s.snoozed) entries.push({ label: "$(play) Resume now", run: () => s.snooze(0) });
  else
    for (const minutes of [5, 30, 60])
      entries.push({ label: `$(clock) Snooze for ${minutes} minutes`, run: () => s.snooze(minutes) });
  if (s.language)
    entries.push(
      s.languageEnabled
        ? { label: `$(circle-slash) Disable for ${s.language}`, run: () => s.setLanguage(s.language!, false) }
        : { label: `$(check) Enable for ${s.language}`, run: () => s.setLanguage(s.language!, true) },
    );
  entries.push(
    s.enabled
      ? { label: "$(circle-slash) Disable everywhere", run: cmd("fimServer.toggle") }
      : { label: "$(check) Enable", run: cmd("fimServer.toggle") },
    { label: "$(key) Set API key…", run: cmd("fimServer.setApiKey") },
    { label: "$(server) Use a local model…", run: cmd("fimServer.useLocalModel") },
    { label: "$(output) Show log", run: cmd("fimServer.showLog") },
    { label: "$(graph) Show stats", run: cmd("fimServer.showStats") },
    { label: "$(debug-restart) Restart server", run: cmd("fimServer.restart") },
  );
  if (s.folderDecisions > 0)
    entries.push({
      label: "$(shield) Forget my answers about this folder's settings",
      description: `${s.folderDecisions} answer${s.folderDecisions === 1 ? "" : "s"}`,
      run: cmd("fimServer.forgetFolderDecisions"),
    });
  const picked = await vscode.window.showQuickPick(entries, { title: "fim-server", placeHolder: "fim-server" });
  if (picked) await picked.run();
}
