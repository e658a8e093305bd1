// No server to start (fimServer.serverPath names a missing program): one error,
// with its three buttons, and no other error from fim-server.
// Usage: node noserver.mjs URL SHOT_DIR
import { open, statusLabel, step, toasts } from "./lib.mjs";

const [url, shots] = process.argv.slice(2);
let session;
try {
  session = await open(url);
  const { page } = session;
  step("wait for the error");
  const error = page.locator('.notification-toast:has-text("Locate fim-server")').first();
  await error.waitFor({ state: "visible", timeout: 60_000 });
  await page.waitForTimeout(5000); // time for a second one to show, if there were one
  // every fim-server toast but the first-run notice (no key yet either: expected)
  const all = (await toasts(page)).filter((t) => t.includes("fim-server") && !t.includes("needs an API key"));
  const buttons = await error.locator("a.monaco-button").allInnerTexts();
  await page.screenshot({ path: `${shots}/no-server.png` });
  process.stdout.write(JSON.stringify({ toasts: all, buttons, status: await statusLabel(page) }) + "\n");
} catch (err) {
  if (session) await session.page.screenshot({ path: `${shots}/no-server-failure.png` }).catch(() => {});
  process.stderr.write(`[e2e] failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await session?.close();
}
