import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/poll.js';
import { createRoom, register } from './support/chat-ui.js';
import { shownMessages } from './support/chat-view.js';
import { newUser } from './support/chromium.js';
import type { FrontDoor } from './support/front-door.js';
import { pathOf } from './support/problems.js';
import { type BrowserRig, startBrowserRig } from './support/rig.js';

let rig: BrowserRig;
let browser: Browser;
let door: FrontDoor;

beforeAll(async () => {
  // A small message burst, so a quick typist goes over it.
  rig = await startBrowserRig(
    { instances: 1, env: { RATE_LIMITS: 'on', RL_MESSAGE_BURST: '3', RL_MESSAGE_PER_S: '1' } },
    1,
  );
  ({ browser } = rig);
  door = rig.door(0);
});

afterAll(async () => {
  await rig?.stop();
});

describe('what a newcomer trips over', () => {
  it('no 401 on the auth page; count and list agree; blank sends explained; an over-limit burst goes out by itself, in order', async () => {
    // Someone is online already, so the count Dana first gets is not trivially hers alone.
    const eve = await newUser(browser, 'eve', door);
    await register(eve.page, eve.name);
    const dana = await newUser(browser, 'dana', door);
    const { page } = dana;
    const statuses: { path: string; status: number }[] = [];
    page.on('response', (r) => statuses.push({ path: pathOf(r.url()), status: r.status() }));

    await page.addInitScript(() => {
      const log: { count?: string; list?: string }[] = [];
      (window as unknown as { countLog: typeof log }).countLog = log;
      document.addEventListener('DOMContentLoaded', () => {
        const count = document.getElementById('online-count');
        const list = document.getElementById('online-users-list');
        if (!count || !list) return;
        new MutationObserver(() =>
          log.push({ count: count.dataset.count, list: list.dataset.count }),
        ).observe(count, { attributes: true, childList: true, characterData: true, subtree: true });
      });
    });
    await register(page, dana.name);
    // The auth page asked who is signed in without a failed request in the console.
    expect(statuses.filter((s) => s.status === 401)).toEqual([]);
    expect(dana.problems.consoleErrors.filter((e) => /401/.test(e.text))).toEqual([]);

    // Every time the count changes on screen, the list beside it has that many names.
    const log = await until(
      () =>
        page.evaluate(
          () => (window as unknown as { countLog?: { count?: string; list?: string }[] }).countLog ?? [],
        ),
      (entries) => entries.some((e) => e.count !== undefined),
      'an online count',
    );
    expect(log.filter((e) => e.count !== e.list)).toEqual([]);

    await createRoom(page, 'Burst room');
    const input = page.locator('#message-input');
    await input.fill('\u200B \u3164');
    await input.press('Enter');
    await until(
      () => page.textContent('#chat-notice'),
      (t) => /only spaces or invisible characters/.test(t ?? ''),
      'the composer to say why nothing was sent',
    );
    expect(await input.inputValue()).toBe('\u200B \u3164');

    const typed = Array.from({ length: 8 }, (_, i) => `burst ${i + 1}`);
    for (const text of typed) {
      await input.fill(text);
      await input.press('Enter');
    }
    const list = await until(
      () => shownMessages(page),
      (all) => typed.every((t) => all.some((m) => m.text === t && m.seq !== null)),
      'every burst message confirmed without a click',
      30_000,
    );
    const mine = list.filter((m) => typed.includes(m.text));
    expect(mine.map((m) => m.text)).toEqual(typed);
    const seqs = mine.map((m) => Number(m.seq));
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(await page.locator('.retry-button:visible').count()).toBe(0);
    await Promise.all([dana.context.close(), eve.context.close()]);
  });
});
