/** Debian's Chromium driven by playwright-core (never a downloaded browser), and one browser user: a context, a tab and a front door. */
import { existsSync } from 'node:fs';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import type { FrontDoor } from './front-door.js';
import { newUserContext, type PageProblems } from './problems.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
];

/** Launches headless Chromium; fails (never skips) when the system browser is missing. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM_PATH} (Debian/Ubuntu: apt-get install chromium). ` +
        'They never download a browser.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** One person at a browser: their own context (cookies, storage), first tab, and front door. */
export interface BrowserUser {
  readonly name: string;
  readonly door: FrontDoor;
  readonly context: BrowserContext;
  readonly page: Page;
  readonly problems: PageProblems;
}

/** A context whose relative URLs go through `door`, with one page open (nothing loaded yet). */
export async function newUser(
  browser: Browser,
  name: string,
  door: FrontDoor,
  options: BrowserContextOptions = {},
): Promise<BrowserUser> {
  const { context, problems } = await newUserContext(browser, {
    baseURL: door.url,
    viewport: { width: 1200, height: 800 },
    ...options,
  });
  const page = await context.newPage();
  return { name, door, context, page, problems };
}
