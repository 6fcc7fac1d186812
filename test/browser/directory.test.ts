import type { Browser, Page } from 'playwright-core';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRooms, seededRoomName } from '../../bench/lib/seed-rooms.js';
import { createKeys } from '../../src/redis/keys.js';
import type { TestCluster } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';
import { createRoom, register, waitJoined } from './support/chat-ui.js';
import { newUser } from './support/chromium.js';
import type { FrontDoor } from './support/front-door.js';
import { unexpectedProblems } from './support/problems.js';
import { type BrowserRig, startBrowserRig } from './support/rig.js';

/** More rooms than two directory pages of 20. */
const SEEDED = 45;

let rig: BrowserRig;
let cluster: TestCluster;
let browser: Browser;
let door: FrontDoor;

beforeAll(async () => {
  rig = await startBrowserRig({ instances: 1 }, 1);
  ({ cluster, browser } = rig);
  door = rig.door(0);
  const redis = createClient({ url: cluster.redis.url });
  await redis.connect();
  try {
    // The instances' default key prefix.
    await seedRooms(redis, createKeys('chat:'), SEEDED);
  } finally {
    await redis.close();
  }
});

afterAll(async () => {
  await rig?.stop();
});

const names = (page: Page, list: '#room-list' | '#directory-list') =>
  page.locator(`${list} .room-name`).allTextContents();

describe('the room directory in the sidebar', () => {
  it('pages with Load more, searches by name, moves a joined room to Your rooms, and shows new rooms live', async () => {
    const dana = await newUser(browser, 'dana', door);
    const eve = await newUser(browser, 'eve', door);
    const { page } = dana;
    await register(page, dana.name);
    await until(
      () => names(page, '#directory-list'),
      (shown) => shown.length === 20,
      'a first page of 20 rooms',
    );
    expect(await names(page, '#room-list')).toEqual([]);

    await page.click('#directory-more');
    await until(
      () => names(page, '#directory-list'),
      (shown) => shown.length === 40,
      '40 rooms',
    );
    await page.click('#directory-more');
    await until(
      () => names(page, '#directory-list'),
      (shown) => shown.length === SEEDED,
      'every room',
    );
    expect(await page.locator('#directory-more').isHidden()).toBe(true);

    await page.fill('#room-search', 'SEEDED ROOM 00003');
    const matching = Array.from({ length: 10 }, (_, i) => seededRoomName(30 + i));
    await until(
      () => names(page, '#directory-list'),
      (shown) => shown.join() === matching.join(),
      'a search',
    );

    await page.locator('#directory-list .room-button', { hasText: seededRoomName(34) }).click();
    await waitJoined(page, seededRoomName(34));
    expect(await names(page, '#room-list')).toEqual([seededRoomName(34)]);
    expect(await names(page, '#directory-list')).not.toContain(seededRoomName(34));

    await page.fill('#room-search', 'nothing like this');
    await until(
      () => page.textContent('#directory-status'),
      (t) => (t ?? '').includes('No other rooms match'),
      'an empty search explained',
    );
    await page.fill('#room-search', '');
    await until(
      () => names(page, '#directory-list'),
      (shown) => shown.length === 20,
      'the first page again',
    );

    // A room created by someone else appears for her at once (it sorts first).
    await register(eve.page, eve.name);
    await createRoom(eve.page, 'Aardvark club');
    await until(
      () => names(page, '#directory-list'),
      (shown) => shown[0] === 'Aardvark club',
      'the new room in the directory',
    );
    for (const user of [dana, eve]) expect(unexpectedProblems(user.problems)).toEqual([]);
    await Promise.all([dana.context.close(), eve.context.close()]);
  });
});
