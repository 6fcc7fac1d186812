import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCluster } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';
import {
  createRoom,
  pageInstance,
  register,
  sendMessage,
  waitConnected,
  waitJoined,
} from './support/chat-ui.js';
import { shownMessages, waitForMessage } from './support/chat-view.js';
import { newUser } from './support/chromium.js';
import type { FrontDoor } from './support/front-door.js';
import { pathOf, unexpectedProblems, type ConsoleError } from './support/problems.js';
import { type BrowserRig, startBrowserRig } from './support/rig.js';
import { screenshot } from './support/screenshots.js';

let rig: BrowserRig;
let cluster: TestCluster;
let browser: Browser;

beforeAll(async () => {
  rig = await startBrowserRig({ instances: 3 }, 2);
  ({ cluster, browser } = rig);
});

afterAll(async () => {
  await rig?.stop();
});

const door = (i: number): FrontDoor => rig.door(i);

describe('sessions, the status page and small screens', () => {
  it('keeps the session, room and history over a reload; logout ends it in every tab', async () => {
    const carol = await newUser(browser, 'carol', door(0));
    const { page } = carol;
    await register(page, carol.name);
    const room = 'Notes to self';
    await createRoom(page, room);
    for (const text of ['First note', 'Second note']) {
      await sendMessage(page, text);
      await waitForMessage(page, carol.name, text);
    }
    const before = (await shownMessages(page)).map((m) => [m.seq, m.sender, m.text]);
    expect(before).toEqual([
      ['1', 'carol', 'First note'],
      ['2', 'carol', 'Second note'],
    ]);

    await page.reload();
    expect(page.url()).toMatch(/\/chat\.html$/);
    await waitConnected(page);
    expect(await page.textContent('#user-name')).toBe('carol');
    await waitJoined(page, room); // this tab's room comes back by itself
    await until(
      async () => (await shownMessages(page)).map((m) => [m.seq, m.sender, m.text]),
      (now) => JSON.stringify(now) === JSON.stringify(before),
      'the history shown again after the reload',
    );

    // A second tab of the same browser (same cookie) that nginx sends to another instance.
    const other = await carol.context.newPage();
    await other.goto(`${door(1).url}/chat.html`);
    await waitConnected(other);
    expect(await pageInstance(other)).not.toBe(await pageInstance(page));
    const otherRoom = other.locator('#room-list .room-button', { hasText: room });
    await otherRoom.click();
    await waitJoined(other, room);
    await waitForMessage(other, 'carol', 'Second note');

    await Promise.all([page.waitForURL('**/auth.html'), page.click('#logout-button')]);
    // The other tab's socket is disconnected by the server, so it leaves for the sign-in page too.
    await other.waitForURL('**/auth.html', { timeout: 10_000 });

    const meStatus = (p: typeof page) =>
      p.evaluate(() => fetch('/auth/me', { cache: 'no-store' }).then((r) => r.status));
    expect(await meStatus(page)).toBe(401);
    expect(await meStatus(other)).toBe(401);
    expect((await carol.context.request.get(`${door(0).url}/auth/me`)).status()).toBe(401);
    // And the chat page sends a signed-out visitor back to sign in.
    await page.goto('/chat.html');
    await page.waitForURL('**/auth.html');
    expect(await page.locator('#login-panel').isVisible()).toBe(true);

    expect(unexpectedProblems(carol.problems)).toEqual([]);
    await carol.context.close();
  });

  it('lists the three instances on the operator status page once the token is entered', async () => {
    const ops = await newUser(browser, 'ops', door(0));
    const { page } = ops;
    await page.goto('/status.html');
    await until(
      () => page.textContent('#status-error'),
      (t) => t === 'Token required',
      'the page to ask for a token',
    );
    expect(await page.locator('#status-table tbody tr').count()).toBe(0);

    await page.fill('#status-token', 'not-the-token');
    const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/status');
    await page.click('#status-form button[type="submit"]');
    expect((await refused).status()).toBe(401);
    await until(
      () => page.textContent('#status-error'),
      (t) => /token is not accepted/.test(t ?? ''),
      'a wrong token refused as wrong (not as missing)',
    );
    expect(await page.locator('#status-table tbody tr').count()).toBe(0);

    await page.fill('#status-token', cluster.metricsToken);
    await page.press('#status-token', 'Enter');
    const ids = await until(
      () => page.locator('#status-table tbody .instance-id').allTextContents(),
      (list) => list.length === 3,
      'three instance rows',
    );
    expect(ids).toEqual(cluster.instances.map((i) => i.id));
    expect(await page.textContent('#status-error')).toBe('');
    expect(await page.textContent('#status-summary')).toMatch(/^3 instances, \d+ connections? · updated /);
    expect(await page.locator('#status-table tbody tr.stale').count()).toBe(0);
    await screenshot(page, 'status');

    // The wrong token was a 401 from /api/status: expected, nothing else is.
    const statusRefusal = (e: ConsoleError) =>
      /status of 401/.test(e.text) && pathOf(e.url) === '/api/status';
    expect(unexpectedProblems(ops.problems, [statusRefusal])).toEqual([]);
    await ops.context.close();
  });

  it('fits a 360 px phone: no horizontal scroll, the send box in view', async () => {
    const dave = await newUser(browser, 'dave', door(0), {
      viewport: { width: 360, height: 740 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const { page } = dave;
    const horizontalOverflow = () =>
      page.evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        bodyScrollWidth: document.body.scrollWidth,
      }));

    await page.goto('/auth.html');
    expect((await horizontalOverflow()).scrollWidth).toBeLessThanOrEqual(360);
    await register(page, 'dave_on_a_small_phone_screen_01');
    await createRoom(page, 'A rather long room name for a narrow phone screen');
    const longWord = 'Supercalifragilisticexpialidocious'.repeat(6);
    const longUrl = `https://example.com/${'very-long-path-segment/'.repeat(8)}end`;
    for (const text of ['Short one.', longWord, longUrl]) {
      await sendMessage(page, text);
      await waitForMessage(page, 'dave_on_a_small_phone_screen_01', text);
    }

    const width = await horizontalOverflow();
    expect(width.scrollWidth).toBeLessThanOrEqual(360);
    expect(width.bodyScrollWidth).toBeLessThanOrEqual(360);
    for (const selector of ['#message-input', '#send-button']) {
      const box = await page.locator(selector).boundingBox();
      expect(box, `${selector} has a box`).not.toBeNull();
      if (box === null) continue;
      expect(await page.locator(selector).isVisible()).toBe(true);
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(360);
      expect(box.y + box.height).toBeLessThanOrEqual(740);
    }
    await screenshot(page, 'phone-chat');

    expect(unexpectedProblems(dave.problems)).toEqual([]);
    await dave.context.close();
  });
});
