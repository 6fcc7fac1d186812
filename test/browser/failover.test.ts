import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCluster } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';
import {
  createRoom,
  joinRoom,
  pageInstance,
  register,
  sendMessage,
  waitConnected,
} from './support/chat-ui.js';
import { duplicateSeqs, shownMessages, waitForMessage } from './support/chat-view.js';
import { newUser, type BrowserUser } from './support/chromium.js';
import { indexOf } from './support/front-door.js';
import { NETWORK_TROUBLE, unexpectedProblems } from './support/problems.js';
import { type BrowserRig, startBrowserRig } from './support/rig.js';

let rig: BrowserRig;
let cluster: TestCluster;
let alice: BrowserUser;
let bob: BrowserUser;

beforeAll(async () => {
  rig = await startBrowserRig({ instances: 3 }, 2);
  cluster = rig.cluster;
  alice = await newUser(rig.browser, 'alice', rig.door(0));
  bob = await newUser(rig.browser, 'bob', rig.door(1));
});

afterAll(async () => {
  await rig?.stop();
});

describe('an instance crash seen from the browser', () => {
  it('shows Reconnecting…, moves to another instance through nginx and catches up exactly once', async () => {
    await register(alice.page, alice.name);
    await register(bob.page, bob.name);
    const room = 'Incident room';
    await createRoom(bob.page, room);
    await joinRoom(alice.page, room);
    await sendMessage(bob.page, 'Before the crash');
    await waitForMessage(alice.page, 'bob', 'Before the crash');

    const aliceInstance = await pageInstance(alice.page);
    const bobInstance = await pageInstance(bob.page);
    expect(aliceInstance).not.toBeNull();
    expect(aliceInstance).not.toBe(bobInstance);

    // Her instance dies. Her front door turns away new connections for now (open ones still flow,
    // so the disconnect is the crash's), which keeps her offline while bob writes.
    alice.door.holdNew();
    await cluster.killInstance(indexOf(cluster, aliceInstance ?? ''), 'SIGKILL');
    await until(
      () => alice.page.locator('#connection-banner').textContent(),
      (t) => t?.trim() === 'Reconnecting…',
      'alice: Reconnecting…',
    );
    expect(await alice.page.locator('#connection-banner').isVisible()).toBe(true);

    const missed = ['While you were away 1', 'While you were away 2', 'While you were away 3'];
    for (const text of missed) {
      await sendMessage(bob.page, text);
      await waitForMessage(bob.page, 'bob', text);
    }
    // What she writes meanwhile waits in her outbox.
    await sendMessage(alice.page, 'Typed during the outage');
    const shownDuringOutage = await shownMessages(alice.page);
    expect(shownDuringOutage.filter((m) => missed.includes(m.text))).toEqual([]);
    expect(shownDuringOutage.find((m) => m.text === 'Typed during the outage')?.classes).toContain('pending');

    alice.door.restore();
    await waitConnected(alice.page, 30_000);
    const now = await pageInstance(alice.page);
    expect(now).not.toBe(aliceInstance);
    expect(cluster.instances.filter((i) => i.running).map((i) => i.id)).toContain(now);

    for (const text of missed) await waitForMessage(alice.page, 'bob', text, 15_000);
    await waitForMessage(alice.page, 'alice', 'Typed during the outage', 15_000);
    await waitForMessage(bob.page, 'alice', 'Typed during the outage');

    // Each message exactly once, in seq order, the same on both pages.
    const expected = ['Before the crash', ...missed, 'Typed during the outage'];
    for (const user of [alice, bob]) {
      const log = await shownMessages(user.page);
      expect(duplicateSeqs(log)).toEqual([]);
      expect(log.map((m) => [m.seq, m.text])).toEqual(expected.map((text, i) => [String(i + 1), text]));
    }

    expect(unexpectedProblems(alice.problems, NETWORK_TROUBLE)).toEqual([]);
    expect(unexpectedProblems(bob.problems)).toEqual([]);
  });
});
