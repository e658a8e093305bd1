// A folder whose .vscode/settings.json names its own provider address and server
// program (issue 18). Phases, each a fresh page on the same browser profile:
//   before  - the question about the folder's host is shown; the key is set; ghost
//             text comes from the user's own provider (the folder's is not asked)
//   allow   - the question is answered "Allow for this folder"; ghost text now
//             comes from the folder's provider
//   restart - after a code-server restart: no question, the folder's provider
// Usage: node folder.mjs PHASE URL FILE SHOT_DIR PROFILE_DIR [API_KEY]
import { open, openFile, palette, reset, setKey, statusLabel, step, toast, toasts, typeForGhost } from "./lib.mjs";

const [phase, url, fileName, shots, profile, apiKey] = process.argv.slice(2);
const QUESTION = "this folder's settings";
let session;
try {
  session = await open(url, profile);
  const { page } = session;
  const out = { phase };
  if (phase === "untrusted") {
    step("answer the trust dialog: do not trust the folder");
    await page.locator('.monaco-dialog-box a.monaco-button:has-text("No")').first().click({ timeout: 60_000 });
    await page.waitForTimeout(3000);
    out.restricted = await page.locator(".statusbar-item:has-text('Restricted Mode')").count();
    step("set the key");
    await setKey(page, apiKey);
    const checked = toast(page, "accepted the key");
    await checked.first().waitFor({ state: "visible", timeout: 60_000 });
  } else if (phase === "before") {
    step("wait for the question about the folder's settings");
    const question = toast(page, QUESTION);
    await question.first().waitFor({ state: "visible", timeout: 90_000 });
    out.question = await question.first().innerText();
    await page.screenshot({ path: `${shots}/folder-question.png` });
    step("set the key");
    await setKey(page, apiKey);
    const checked = toast(page, "accepted the key");
    await checked.first().waitFor({ state: "visible", timeout: 60_000 });
    out.check = await checked.first().innerText();
  } else if (phase === "allow") {
    step("answer the question: Allow for this folder");
    let question = toast(page, QUESTION);
    await question.first().waitFor({ state: "visible", timeout: 90_000 }).catch(async () => {
      await palette(page, "Notifications: Show Notifications");
      question = page.locator(`.notifications-list-container .monaco-list-row:has-text("${QUESTION}")`);
    });
    await question.first().locator('a.monaco-button:has-text("Allow for this folder")').click();
    await page.waitForTimeout(1000);
  } else {
    step("a restart asks nothing");
    await page.waitForTimeout(5000);
  }
  out.toasts = await toasts(page);
  step("type for ghost text");
  const editor = await openFile(page, fileName);
  out.shown = await typeForGhost(page, editor, " ");
  await page.screenshot({ path: `${shots}/folder-${phase}.png` });
  await reset(page, 1);
  out.status = await statusLabel(page);
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (err) {
  if (session) await session.page.screenshot({ path: `${shots}/folder-${phase}-failure.png` }).catch(() => {});
  process.stderr.write(`[e2e] failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await session?.close();
}
