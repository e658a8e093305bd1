// Drives code-server in Debian's Chromium: opens a file, types, waits for the
// inline ghost text, takes a screenshot, accepts with Tab and saves.
// Usage: node ghost.mjs URL FILE_NAME TYPED EXPECTED SCREENSHOT [API_KEY]
// Prints one JSON line with what it saw; exits non-zero on failure.
import { chromium } from "playwright-core";

const [url, fileName, typed, expected, screenshot, apiKey] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const t0 = Date.now();
const step = (what) => process.stderr.write(`[ghost ${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}\n`);

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 600 } });
  page = await context.newPage();
  page.setDefaultTimeout(60_000);
  step("open " + url);
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(".monaco-workbench", { timeout: 90_000 });
  // The status bar item shows once the extension is active.
  step("wait for the extension's status item");
  await page.waitForSelector('[id="fim-server.fim-server"], .statusbar-item:has-text("FIM")', { timeout: 90_000 });

  if (apiKey) {
    step("set the API key through the command palette (secret storage)");
    await page.keyboard.press("F1");
    await page.waitForSelector(".quick-input-widget input");
    await page.keyboard.type("fim-server: Set API key");
    await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Set API key")');
    await page.keyboard.press("Enter");
    await page.waitForSelector('.quick-input-widget input[type="password"]');
    await page.keyboard.type(apiKey);
    await page.keyboard.press("Enter");
    await page.waitForTimeout(500);
  }

  step("quick open " + fileName);
  await page.keyboard.press("Control+P");
  await page.waitForSelector(".quick-input-widget input");
  await page.keyboard.type(fileName);
  await page.waitForSelector(`.quick-input-list .monaco-list-row:has-text("${fileName}")`);
  await page.keyboard.press("Enter");
  await page.waitForSelector(`.tab.active:has-text("${fileName}")`);
  const editor = page.locator(".editor-group-container.active .monaco-editor .view-lines");
  await editor.click();
  await page.keyboard.press("Control+End");
  step("type");
  await page.keyboard.type(typed, { delay: 40 });
  step("wait for ghost text");
  const ghost = page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text");
  await ghost.first().waitFor({ state: "visible", timeout: 60_000 });
  const shown = (await ghost.allInnerTexts()).join("");
  await page.waitForTimeout(300);
  await page.screenshot({ path: screenshot });
  step("accept with Tab and save");
  await page.keyboard.press("Tab");
  await page.waitForTimeout(300);
  const ghostAfter = await ghost.count();
  await page.keyboard.press("Control+S");
  await page.waitForSelector(`.tab.active:not(.dirty):has-text("${fileName}")`);
  const status = await page.locator(".statusbar-item:has-text('FIM')").first().innerText().catch(() => "");
  const notifications = await page.locator(".notification-toast, .notifications-list-container .monaco-list-row").allInnerTexts();
  step("show stats");
  await page.keyboard.press("F1");
  await page.waitForSelector(".quick-input-widget input");
  await page.keyboard.type("fim-server: Show stats");
  await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Show stats")');
  await page.keyboard.press("Enter");
  const statsToast = page.locator('.notification-toast:has-text("provider calls")');
  await statsToast.first().waitFor({ state: "visible", timeout: 30_000 });
  const stats = await statsToast.first().innerText();
  await page.keyboard.press("Escape");

  let errorTooltip = "";
  if (apiKey) {
    step("clear the API key, type: the status bar shows the error and its reason");
    await page.keyboard.press("F1");
    await page.waitForSelector(".quick-input-widget input");
    await page.keyboard.type("fim-server: Clear API key");
    await page.waitForSelector('.quick-input-list .monaco-list-row:has-text("Clear API key")');
    await page.keyboard.press("Enter");
    await page.waitForTimeout(1000);
    await editor.click();
    await page.keyboard.press("Control+End");
    await page.keyboard.type("\n", { delay: 40 });
    const errorItem = page.locator('.statusbar-item:has-text("FIM"):has(.codicon-error), .statusbar-item:has-text("no key")');
    await errorItem.first().waitFor({ state: "visible", timeout: 60_000 });
    errorTooltip = await errorItem.first().evaluate((el) =>
      [el, ...el.querySelectorAll("[aria-label]")].map((e) => e.getAttribute("aria-label") || "").join(" "),
    );
    await page.screenshot({ path: screenshot.replace(/\.png$/, "-error.png") });
  }
  process.stdout.write(JSON.stringify({ shown, expected, ghostAfter, status, notifications, stats, errorTooltip }) + "\n");
} catch (err) {
  if (page) await page.screenshot({ path: screenshot.replace(/\.png$/, "-failure.png") }).catch(() => {});
  process.stderr.write(`[ghost] failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
