/** What went wrong on a page (page errors, console errors, CSP violations), collected per context so every test can assert a clean page. */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';

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
