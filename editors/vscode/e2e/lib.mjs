// Shared steps for the code-server drivers: launch Debian's Chromium, open the
// workbench, run a palette command, open a file, type, wait for ghost text.
import { chromium } from "playwright-core";

const t0 = Date.now();
export const step = (what) => process.stderr.write(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${what}\n`);

const ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** A browser context; with ``profile`` a persistent one (its storage survives a restart). */
export async function open(url, profile) {
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  const options = { executablePath, headless: true, args: ARGS, viewport: { width: 1100, height: 600 } };
  const context = profile ? await chromium.launchPersistentContext(profile, options) : await (await chromium.launch(options)).newContext(options);
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  step("open " + url);
  await page.goto(url, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(".monaco-workbench", { timeout: 90_000 });
  step("wait for the extension's status item");
  await page.waitForSelector('.statusbar-item:has-text("FIM")', { timeout: 90_000 });
  return { context, page, close: async () => { await context.close(); await context.browser()?.close(); } };
}

export async function palette(page, title) {
  await page.keyboard.press("F1");
  await page.waitForSelector(".quick-input-widget input");
  await page.keyboard.type(title);
  await page.waitForSelector(`.quick-input-list .monaco-list-row:has-text("${title.replace(/^.*: /, "")}")`);
  await page.keyboard.press("Enter");
}

export async function setKey(page, key) {
  await palette(page, "fim-server: Set API key");
  await page.waitForSelector('.quick-input-widget input[type="password"]');
  await page.keyboard.type(key);
  await page.keyboard.press("Enter");
}

export async function openFile(page, fileName) {
  await page.keyboard.press("Control+P");
  await page.waitForSelector(".quick-input-widget input");
  await page.keyboard.type(fileName);
  await page.waitForSelector(`.quick-input-list .monaco-list-row:has-text("${fileName}")`);
  await page.keyboard.press("Enter");
  await page.waitForSelector(`.tab.active:has-text("${fileName}")`);
  return page.locator(".editor-group-container.active .monaco-editor .view-lines");
}

export const ghost = (page) => page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text");

/** Types at the end of the file and returns the ghost text shown. */
export async function typeForGhost(page, editor, typed) {
  await editor.click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(typed, { delay: 40 });
  await ghost(page).first().waitFor({ state: "visible", timeout: 60_000 });
  await page.waitForTimeout(300);
  return (await ghost(page).allInnerTexts()).join("").replace(/\u00a0/g, " ");
}

/** Undo what was typed and dismiss the suggestion. */
export async function reset(page, typedLength) {
  await page.keyboard.press("Escape");
  for (let i = 0; i < typedLength; i++) await page.keyboard.press("Backspace");
}

export const toast = (page, text) => page.locator(`.notification-toast:has-text("${text}")`);

export async function statusLabel(page) {
  return page.locator('.statusbar-item:has-text("FIM")').first().evaluate((el) =>
    [el, ...el.querySelectorAll("[aria-label]")].map((e) => e.getAttribute("aria-label") || "").join(" "),
  );
}

export async function toasts(page) {
  return page.locator(".notification-toast").allInnerTexts();
}
