// code-server with only the .vsix installed: the server is installed from the
// wheel it carries, the first-run notice offers Set API key, a wrong key is
// rejected by the one-request check (a toast with Set API key), the right key
// clears that toast, a rate limit is a warning with a countdown, then ghost text
// appears and Tab accepts; the status menu, the stats, a cleared key.
// Usage: node firstrun.mjs URL FILE TYPED SHOT_DIR API_KEY WRONG_KEY
// Prints one JSON line with what it saw; exits non-zero on failure.
import { open, openFile, palette, reset, setKey, statusLabel, step, toast, toasts, typeForGhost } from "./lib.mjs";

const [url, fileName, typed, shots, apiKey, wrongKey] = process.argv.slice(2);
let session;
try {
  session = await open(url);
  const { page } = session;
  step("wait for the first-run notice");
  const notice = toast(page, "needs an API key");
  await notice.first().waitFor({ state: "visible", timeout: 90_000 });
  const noticeText = await notice.first().innerText();
  const sawInstall = (await toasts(page)).some((t) => t.includes("installing the server"));
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${shots}/first-run.png` });
  step("Set API key from the notice: a wrong key first");
  await notice.first().locator('a.monaco-button:has-text("Set API key")').click();
  await page.waitForSelector('.quick-input-widget input[type="password"]');
  const prompt = await page.locator(".quick-input-widget").first().innerText();
  await page.keyboard.type(wrongKey);
  await page.keyboard.press("Enter");
  step("wait for the key check (after the private install): rejected");
  const rejected = toast(page, "rejected the API key");
  await rejected.first().waitFor({ state: "visible", timeout: 400_000 });
  const rejectedText = await rejected.first().innerText();
  step("the right key: accepted, and the rejection goes away");
  await setKey(page, apiKey);
  const checked = toast(page, "accepted the key");
  await checked.first().waitFor({ state: "visible", timeout: 60_000 });
  const checkText = await checked.first().innerText();
  await page.waitForTimeout(500);
  const rejectedAfter = await rejected.count();
  step("type: a rate limit is a warning with the seconds until the retry");
  const editor = await openFile(page, fileName);
  await editor.click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(typed, { delay: 40 });
  const warning = page.locator('.statusbar-item:has-text("FIM"):has(.codicon-warning)');
  await warning.first().waitFor({ state: "visible", timeout: 30_000 });
  const rateStatus = await statusLabel(page);
  const rateText = await warning.first().innerText();
  const rateIsError = await page.locator('.statusbar-item:has-text("FIM"):has(.codicon-error)').count();
  await page.waitForTimeout(4000);
  await reset(page, typed.length);
  step("type for ghost text");
  const shown = await typeForGhost(page, editor, typed);
  await page.screenshot({ path: `${shots}/ghost.png` });
  await page.keyboard.press("Tab");
  await page.keyboard.press("Control+S");
  await page.waitForSelector(`.tab.active:not(.dirty):has-text("${fileName}")`);
  const status = await statusLabel(page);
  step("open the status menu");
  await page.locator('.statusbar-item:has-text("FIM")').first().click();
  await page.waitForSelector(".quick-input-list .monaco-list-row");
  const menu = await page.locator(".quick-input-list .monaco-list-row").allInnerTexts();
  await page.keyboard.press("Escape");
  step("show stats");
  await palette(page, "fim-server: Show stats");
  const statsToast = toast(page, "provider calls");
  await statsToast.first().waitFor({ state: "visible", timeout: 30_000 });
  const stats = await statsToast.first().innerText();
  await page.keyboard.press("Escape");
  const pick = async (label) => {
    await page.locator('.statusbar-item:has-text("FIM")').first().click();
    await page.locator(`.quick-input-list .monaco-list-row:has-text("${label}")`).first().click();
  };
  step("menu: disable for python, the status says so; enable again");
  await editor.click();
  await pick("Disable for python");
  await page.locator('.statusbar-item:has-text("off for python")').first().waitFor({ state: "visible", timeout: 15_000 });
  const languageOff = await statusLabel(page);
  await pick("Enable for python");
  await page.locator('.statusbar-item:has-text("FIM"):has(.codicon-check)').first().waitFor({ state: "visible", timeout: 15_000 });
  step("menu: snooze for 30 minutes, then resume");
  await pick("Snooze for 30 minutes");
  await page.locator('.statusbar-item:has-text("30 min")').first().waitFor({ state: "visible", timeout: 15_000 });
  const snoozed = await statusLabel(page);
  await pick("Resume now");
  await page.locator('.statusbar-item:has-text("FIM"):has(.codicon-check)').first().waitFor({ state: "visible", timeout: 15_000 });
  step("clear the key: the status says there is none");
  await palette(page, "fim-server: Clear API key");
  const noKey = page.locator('.statusbar-item:has-text("no key")');
  await noKey.first().waitFor({ state: "visible", timeout: 30_000 });
  const noKeyStatus = await statusLabel(page);
  process.stdout.write(JSON.stringify({
    noticeText, sawInstall, prompt, rejectedText, rejectedAfter, checkText, rateStatus, rateText, rateIsError, shown, status, menu, stats, languageOff, snoozed, noKeyStatus,
  }) + "\n");
} catch (err) {
  if (session) await session.page.screenshot({ path: `${shots}/failure.png` }).catch(() => {});
  process.stderr.write(`[e2e] failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await session?.close();
}
