// A Jupyter notebook in code-server with only VS Code's built-in "ipynb" extension
// (the jupyter-notebook serializer; no Jupyter extension, no kernel): open the
// .ipynb, type at the end of a code cell, wait for ghost text, accept it with Tab,
// save. The test checks what the provider received (the earlier cells) and the
// saved notebook.
// Usage: node notebook.mjs URL FILE SHOT_DIR CELL_INDEX TYPED
import { ghost, open, openFile, step } from "./lib.mjs";

const [url, fileName, shots, cellIndex, typed] = process.argv.slice(2);
let session;
try {
  session = await open(url);
  const { page } = session;
  const out = {};
  step("open the notebook");
  await openFile(page, fileName);
  const cells = page.locator(".notebook-editor .code-cell-row .monaco-editor");
  await cells.nth(Number(cellIndex)).waitFor({ state: "visible", timeout: 60_000 });
  out.codeCells = await cells.count();
  step("type at the end of code cell " + cellIndex);
  const cell = cells.nth(Number(cellIndex));
  await cell.locator(".view-lines").click();
  await page.keyboard.press("Control+End");
  await page.keyboard.type(typed, { delay: 40 });
  const shown = cell.locator(".ghost-text-decoration, .ghost-text");
  await shown.first().waitFor({ state: "visible", timeout: 60_000 });
  await page.waitForTimeout(300);
  out.shown = (await shown.allInnerTexts()).join("").replace(/\u00a0/g, " ");
  await page.screenshot({ path: `${shots}/notebook-ghost.png` });
  step("accept with Tab, save");
  await page.keyboard.press("Tab");
  await page.waitForTimeout(500);
  out.ghostAfterTab = await ghost(page).count();
  out.cellText = (await cell.locator(".view-lines").innerText()).replace(/\u00a0/g, " ");
  await page.keyboard.press("Control+S");
  await page.waitForSelector(`.tab.active:not(.dirty):has-text("${fileName}")`, { timeout: 30_000 });
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (err) {
  if (session) await session.page.screenshot({ path: `${shots}/notebook-failure.png` }).catch(() => {});
  process.stderr.write(`[e2e] failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
} finally {
  await session?.close();
}
