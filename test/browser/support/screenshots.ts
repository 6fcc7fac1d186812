/** Screenshots of a page for test-results/, and the README's pictures in docs/screenshots/ on request. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results', 'screenshots');
export const DOCS_SCREENSHOT_DIR = path.join(REPO_ROOT, 'docs', 'screenshots');

/**
 * Writes test-results/screenshots/<name>.png, and, for `docs` shots when UPDATE_SCREENSHOTS=1,
 * docs/screenshots/<name>.png (the README's pictures; refreshed on purpose, not by every run).
 */
export async function screenshot(page: Page, name: string, opts: { docs?: boolean } = {}): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  const png = await page.screenshot({ path: file, animations: 'disabled', caret: 'hide' });
  if (opts.docs && process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOCS_SCREENSHOT_DIR, { recursive: true });
    writeFileSync(path.join(DOCS_SCREENSHOT_DIR, `${name}.png`), png);
  }
  return file;
}
