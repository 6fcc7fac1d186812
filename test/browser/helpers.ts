import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Page,
} from 'playwright-core';
import type { TestCluster } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';
import { distinctSources as probeSources, instanceVia as probeInstance } from '../helpers/routing.js';

export { until };

/**
 * The browser tier's toolkit: Debian's Chromium driven by playwright-core (never a downloaded
 * browser), one context per user, problem collection (page errors, console errors, CSP violations)
 * so every test can assert a clean page, screenshots, and "front doors" that put browsers on chosen
 * instances through nginx.
 *
 * Why front doors: nginx is sticky by `hash $remote_addr`, and a browser always connects from
 * 127.0.0.1. Pointing Chromium at another loopback destination (nginx on 0.0.0.0, browsing to
 * http://127.0.0.2:<port>) does not help: the kernel's local route is
 * `local 127.0.0.0/8 dev lo src 127.0.0.1`, so the source stays 127.0.0.1 whatever the destination
 * (checked: a server on 0.0.0.0 sees 127.0.0.1 for Chromium requests to 127.0.0.2 and 127.0.0.3).
 * Chromium cannot bind a source address, so each browser user gets a small TCP forwarder: the
 * browser talks to 127.0.0.1:<forwarder>, the forwarder connects to nginx from 127.0.0.N (any
 * address in 127/8 can be bound without setup). nginx, the hashing, WebSocket upgrades and retries
 * are the real ones; only the client address differs. The forwarder doubles as the user's network
 * cable: `cut()` drops it, `holdNew()` refuses new connections while existing ones keep flowing.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-results', 'screenshots');
export const DOCS_SCREENSHOT_DIR = path.join(REPO_ROOT, 'docs', 'screenshots');

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

// ---- problems on a page ------------------------------------------------------------------------

export interface ConsoleError {
  text: string;
  /** The resource a "Failed to load resource" message is about, else the script's URL. */
  url: string;
}

/** What went wrong in a context's pages, across navigations. */
export interface PageProblems {
  /** Uncaught exceptions and unhandled rejections. */
  pageErrors: string[];
  consoleErrors: ConsoleError[];
  /** From the `securitypolicyviolation` event and from CSP console reports. */
  cspViolations: string[];
}

export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return '';
  }
}

/** Console errors that are part of normal operation, never a bug by themselves. */
const ALWAYS_ALLOWED: ((e: ConsoleError) => boolean)[] = [
  // auth.html asks /auth/me whether we are already signed in; signed out, that is a 401.
  (e) => /status of 401/.test(e.text) && pathOf(e.url) === '/auth/me',
];

/** Expected while an instance is down or the network is cut (the page retries by itself). */
export const NETWORK_TROUBLE: ((e: ConsoleError) => boolean)[] = [
  (e) => /WebSocket connection to .* failed/.test(e.text),
  // Socket.IO's long-polling fallback and retries: any network-level failure, any gateway error.
  (e) => /net::ERR_[A-Z_]+/.test(e.text) && pathOf(e.url) === '/socket.io/',
  (e) => /Failed to load resource.*status of 50[234]/.test(e.text) && pathOf(e.url) === '/socket.io/',
];

/**
 * A browser context with problem collection on every page it opens (now or later, including
 * reloads and navigations).
 */
export async function newUserContext(
  browser: Browser,
  options: BrowserContextOptions,
): Promise<{ context: BrowserContext; problems: PageProblems }> {
  const context = await browser.newContext(options);
  const problems: PageProblems = { pageErrors: [], consoleErrors: [], cspViolations: [] };
  await context.exposeBinding('__reportCspViolation', (_source, text: unknown) => {
    problems.cspViolations.push(String(text));
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      const report = Reflect.get(window, '__reportCspViolation') as unknown;
      if (typeof report === 'function') {
        report(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} (${event.sourceFile})`);
      }
    });
  });
  const watch = (page: Page): void => {
    page.on('pageerror', (error) =>
      problems.pageErrors.push(`${page.url()}: ${error.stack ?? error.message}`),
    );
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const text = message.text();
      if (/Content Security Policy/i.test(text)) problems.cspViolations.push(text);
      else problems.consoleErrors.push({ text, url: message.location().url });
    });
  };
  context.on('page', watch);
  return { context, problems };
}

/** Forgets what was collected so far (a later test should not fail for an earlier one's problems). */
export function clearProblems(problems: PageProblems): void {
  problems.pageErrors.length = 0;
  problems.consoleErrors.length = 0;
  problems.cspViolations.length = 0;
}

/**
 * Fails when a page threw, violated the CSP, or logged a console error that is not on the allow
 * list (always-allowed ones plus `allow`).
 */
export function unexpectedProblems(
  problems: PageProblems,
  allow: ((e: ConsoleError) => boolean)[] = [],
): string[] {
  const allowed = [...ALWAYS_ALLOWED, ...allow];
  return [
    ...problems.pageErrors.map((e) => `page error: ${e}`),
    ...problems.cspViolations.map((e) => `CSP violation: ${e}`),
    ...problems.consoleErrors
      .filter((e) => !allowed.some((ok) => ok(e)))
      .map((e) => `console error: ${e.text} (${e.url})`),
  ];
}

// ---- screenshots -------------------------------------------------------------------------------

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

// ---- front doors: a chosen client address through nginx ------------------------------------------

export interface FrontDoor {
  /** http://127.0.0.1:<port>: what the browser opens. */
  readonly url: string;
  /** The source address nginx sees. */
  readonly from: string;
  /** Connections turned away while cut or holding. */
  readonly refused: number;
  /** Destroys every open connection and refuses new ones until restore(). */
  cut(): void;
  /** Refuses new connections; open ones keep flowing. */
  holdNew(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP forwarder on 127.0.0.1 to `target` (host:port of nginx) that connects from `from`. */
export async function startFrontDoor(target: string, from: string): Promise<FrontDoor> {
  const { hostname, port } = new URL(target);
  const open = new Set<net.Socket>();
  let blocked = false;
  let refused = 0;
  const server = net.createServer((client) => {
    if (blocked) {
      refused += 1;
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({ host: hostname, port: Number(port), localAddress: from });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => {
        open.delete(socket);
        client.destroy();
        upstream.destroy();
      });
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('front door: no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    from,
    get refused() {
      return refused;
    },
    cut() {
      blocked = true;
      for (const socket of open) socket.resetAndDestroy();
    },
    holdNew() {
      blocked = true;
    },
    restore() {
      blocked = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Which instance nginx sends a client at `from` to (its X-Instance-Id). */
export function instanceVia(cluster: TestCluster, from: string): Promise<string> {
  return probeInstance(cluster.nginxUrl, from);
}

/** `count` loopback source addresses that nginx hashes to pairwise different instances. */
export function distinctSources(
  cluster: TestCluster,
  count: number,
): Promise<{ from: string; instance: string }[]> {
  return probeSources(cluster.nginxUrl, count);
}

/** The index in cluster.instances of the instance with this id. */
export function indexOf(cluster: TestCluster, instanceId: string): number {
  const i = cluster.instances.findIndex((instance) => instance.id === instanceId);
  if (i < 0) throw new Error(`no instance ${instanceId}`);
  return i;
}

// ---- the chat UI ---------------------------------------------------------------------------------

export const PASSWORD = 'correct horse battery';

/** The instance that serves this page's requests (X-Instance-Id of a same-origin fetch). */
export function pageInstance(page: Page): Promise<string | null> {
  return page.evaluate(() =>
    fetch('/healthz', { cache: 'no-store' }).then((r) => r.headers.get('x-instance-id')),
  );
}

/** Opens the register form of auth.html. */
export async function openRegisterForm(page: Page): Promise<void> {
  await page.goto('/auth.html');
  await page.click('#show-register');
  await page.locator('#register-username').waitFor({ state: 'visible' });
}

/** Registers through the form (already open) and waits for the chat page to be connected. */
export async function submitRegistration(page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.fill('#register-username', username);
  await page.fill('#register-password', password);
  await page.fill('#register-confirm-password', password);
  await Promise.all([page.waitForURL('**/chat.html'), page.click('#register-submit')]);
  await waitConnected(page);
  await until(
    () => page.textContent('#user-name'),
    (name) => name === username,
    'the header to show the signed-in user',
  );
}

export async function register(page: Page, username: string): Promise<void> {
  await openRegisterForm(page);
  await submitRegistration(page, username);
}

/** The connection banner is hidden (connected). */
export async function waitConnected(page: Page, timeoutMs = 15_000): Promise<void> {
  await until(
    () => page.locator('#connection-banner').isHidden(),
    (hidden) => hidden,
    'the connection banner to hide (connected)',
    timeoutMs,
  );
}

/** Creates a room with the sidebar form; the page switches to it. */
export async function createRoom(page: Page, name: string): Promise<void> {
  await page.fill('#room-input', name);
  await page.click('#create-room');
  await waitJoined(page, name);
}

/** Clicks a room in the sidebar once it is listed and waits for the join. */
export async function joinRoom(page: Page, name: string): Promise<void> {
  const button = page
    .locator('.room-list .room-button')
    .filter({ has: page.locator('.room-name', { hasText: name }) });
  await until(
    () => button.count(),
    (n) => n === 1,
    `room “${name}” listed in the sidebar`,
  );
  await button.click();
  await waitJoined(page, name);
}

/** The page shows `name` as the current room and the composer is enabled (join acknowledged). */
export async function waitJoined(page: Page, name: string): Promise<void> {
  await until(
    () =>
      page.evaluate(() => ({
        room: document.getElementById('current-room')?.textContent ?? null,
        enabled: !(document.getElementById('message-input') as HTMLInputElement | null)?.disabled,
      })),
    (s) => s.room === name && s.enabled,
    `joined “${name}” (current room shown, composer enabled)`,
  );
}

/** Puts `text` in the composer (one input event) and sends it with Enter. */
export async function sendMessage(page: Page, text: string): Promise<void> {
  const input = page.locator('#message-input');
  await input.fill(text);
  await input.press('Enter');
}

export interface ShownMessage {
  seq: string | null;
  clientId: string | null;
  sender: string;
  text: string;
  classes: string[];
}

/** Every message element in #chat-box, top to bottom. */
export function shownMessages(page: Page): Promise<ShownMessage[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('#chat-box .message-container')].map((node) => ({
      seq: node.dataset.seq ?? null,
      clientId: node.dataset.clientId ?? null,
      sender: node.querySelector('.sender-name')?.textContent ?? '',
      text: node.querySelector('.message-bubble')?.textContent ?? '',
      classes: [...node.classList],
    })),
  );
}

/** Waits until `page` shows a message with this text from `sender`, confirmed (with a seq). */
export async function waitForMessage(
  page: Page,
  sender: string,
  text: string,
  timeoutMs = 10_000,
): Promise<ShownMessage> {
  const all = await until(
    () => shownMessages(page),
    (list) => list.some((m) => m.text === text && m.sender === sender && m.seq !== null),
    `message “${text}” from ${sender}`,
    timeoutMs,
  );
  const found = all.find((m) => m.text === text && m.sender === sender && m.seq !== null);
  if (found === undefined) throw new Error('unreachable');
  return found;
}

/** Seqs shown more than once (should be none). */
export function duplicateSeqs(list: ShownMessage[]): string[] {
  const seen = new Set<string>();
  const dupes: string[] = [];
  for (const m of list) {
    if (m.seq === null) continue;
    if (seen.has(m.seq)) dupes.push(m.seq);
    seen.add(m.seq);
  }
  return dupes;
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
