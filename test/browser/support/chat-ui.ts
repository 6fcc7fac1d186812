/** Actions on the chat UI as a person does them: register, create and join rooms, send messages. */
import type { Page } from 'playwright-core';
import { until } from '../../helpers/poll.js';

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
