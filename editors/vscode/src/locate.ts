// Which fim-server to start: the user's fimServer.serverPath, else one found on
// PATH, in ~/.local/bin, in the pipx and uv tool folders or (trusted workspaces
// only) the workspace's .venv, else the wheel this extension carries, installed
// into a private venv in the extension's global storage.
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";

const WINDOWS = process.platform === "win32";
const EXE = WINDOWS ? "fim-server.exe" : "fim-server";
const BIN = WINDOWS ? "Scripts" : "bin";

export interface Found {
  command: string;
  args: string[];
  /** Where it came from, for the log and the status tooltip. */
  source: string;
}

export class LocateError extends Error {}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  const exts = WINDOWS ? ["", ".exe", ".cmd", ".bat"] : [""];
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (isFile(candidate)) return candidate;
    }
  }
  return undefined;
}

/** The places a user's own install ends up, in order. */
export function candidates(workspaceFolders: readonly string[], trusted: boolean): string[] {
  const home = os.homedir();
  const dirs = [
    path.join(home, ".local", "bin"),
    process.env.PIPX_BIN_DIR ?? "",
    path.join(process.env.PIPX_HOME ?? path.join(home, ".local", "pipx"), "venvs", "fim-server", BIN),
    process.env.UV_TOOL_BIN_DIR ?? "",
    path.join(process.env.UV_TOOL_DIR ?? path.join(home, ".local", "share", "uv", "tools"), "fim-server", BIN),
  ];
  if (WINDOWS && process.env.APPDATA) dirs.push(path.join(process.env.APPDATA, "uv", "tools", "fim-server", BIN));
  if (trusted) for (const folder of workspaceFolders) dirs.push(path.join(folder, ".venv", BIN));
  return dirs.filter(Boolean).map((d) => path.join(d, EXE));
}

/** serverPath from the user's settings (never a folder's), or a found install. */
export function findInstalled(serverPath: string | undefined, workspaceFolders: readonly string[], trusted: boolean): Found | undefined {
  if (serverPath) {
    const bare = !serverPath.includes("/") && !serverPath.includes("\\");
    const resolved = bare ? onPath(serverPath) : isFile(serverPath) ? serverPath : undefined;
    if (!resolved) throw new LocateError(`fimServer.serverPath is ${JSON.stringify(serverPath)}, which was not found`);
    return { command: resolved, args: [], source: "fimServer.serverPath" };
  }
  const fromPath = onPath("fim-server");
  if (fromPath) return { command: fromPath, args: [], source: `PATH (${fromPath})` };
  for (const candidate of candidates(workspaceFolders, trusted)) {
    if (isFile(candidate)) return { command: candidate, args: [], source: candidate };
  }
  return undefined;
}

function run(command: string, args: string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 8 << 20, windowsHide: true }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")}: ${String(stderr || error.message).trim().slice(-2000)}`));
      else resolve(String(stdout));
    });
  });
}

const VERSION_CHECK = "import sys; print('%d.%d' % sys.version_info[:2]); sys.exit(0 if sys.version_info >= (3, 10) else 3)";

/** A Python >= 3.10: the Python extension's interpreter, else python3 / python / py -3. */
export async function findPython(log: vscode.LogOutputChannel): Promise<string[] | undefined> {
  const tries: string[][] = [];
  try {
    const ext = vscode.extensions.getExtension("ms-python.python");
    if (ext) {
      const api = ext.isActive ? ext.exports : await ext.activate();
      const env = api?.environments?.getActiveEnvironmentPath?.();
      const resolved = env ? await api.environments.resolveEnvironment?.(env) : undefined;
      const exe = resolved?.executable?.uri?.fsPath ?? env?.path;
      if (exe) tries.push([exe]);
    }
  } catch (err) {
    log.info(`the Python extension gave no interpreter: ${String(err)}`);
  }
  tries.push(["python3"], ["python"]);
  if (WINDOWS) tries.push(["py", "-3"]);
  for (const [command, ...pre] of tries) {
    try {
      const version = (await run(command, [...pre, "-c", VERSION_CHECK], 30_000)).trim();
      log.info(`Python ${version}: ${[command, ...pre].join(" ")}`);
      return [command, ...pre];
    } catch (err) {
      log.info(`not usable for the private server: ${String((err as Error).message)}`);
    }
  }
  return undefined;
}

/** The wheel in this extension's server/ folder, if it carries one. */
export function bundledWheel(extensionPath: string): string | undefined {
  const dir = path.join(extensionPath, "server");
  try {
    const wheel = fs.readdirSync(dir).filter((f) => /^fim_server-.*\.whl$/.test(f)).sort().pop();
    return wheel ? path.join(dir, wheel) : undefined;
  } catch {
    return undefined;
  }
}

/** The private server: made (or upgraded when the carried wheel changed) with a
 * progress notification. Throws LocateError with the reason when it cannot. */
export async function privateServer(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): Promise<Found> {
  const wheel = bundledWheel(context.extensionPath);
  if (!wheel) throw new LocateError("no fim-server was found and this build of the extension carries none");
  const venv = path.join(context.globalStorageUri.fsPath, "server-venv");
  const exe = path.join(venv, BIN, EXE);
  const stamp = path.join(venv, "fim-server-wheel.txt");
  const installed = isFile(stamp) ? fs.readFileSync(stamp, "utf8").trim() : "";
  const found = { command: exe, args: [], source: `the extension's private venv (${venv})` };
  if (installed === path.basename(wheel) && isFile(exe)) return found;

  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: "fim-server", cancellable: false },
    async (progress) => {
      progress.report({ message: installed ? "upgrading the server to " + path.basename(wheel) : "installing the server (first start, about a minute)…" });
      const venvPython = path.join(venv, BIN, WINDOWS ? "python.exe" : "python");
      let usable = false;
      if (isFile(venvPython)) {
        try {
          await run(venvPython, ["-c", VERSION_CHECK], 30_000);
          usable = true;
        } catch {
          fs.rmSync(venv, { recursive: true, force: true }); // its Python went away: make it again
        }
      }
      if (!usable) {
        const python = await findPython(log);
        if (!python) throw new LocateError("no fim-server was found and no Python 3.10 or newer to install one (python3, python" + (WINDOWS ? ", py -3" : "") + ")");
        fs.mkdirSync(path.dirname(venv), { recursive: true });
        log.info(`making ${venv}`);
        try {
          await run(python[0], [...python.slice(1), "-m", "venv", venv]);
        } catch (err) {
          throw new LocateError(`could not make a venv with ${python.join(" ")} (on Debian/Ubuntu: apt install python3-venv): ${(err as Error).message}`);
        }
      }
      log.info(`installing ${path.basename(wheel)} into ${venv}`);
      try {
        await run(venvPython, ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--upgrade", wheel], 600_000);
      } catch (err) {
        throw new LocateError(`pip could not install the server: ${(err as Error).message}`);
      }
      if (!isFile(exe)) throw new LocateError(`pip finished but ${exe} is missing`);
      fs.writeFileSync(stamp, path.basename(wheel) + "\n");
      log.info(`installed ${exe}`);
      return found;
    },
  );
}
