import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serving, type TestCluster } from '../helpers/cluster.js';
import { until } from '../helpers/poll.js';
import { createRoom, joinRoom, pageInstance, register, sendMessage } from './support/chat-ui.js';
import { duplicateSeqs, shownMessages, waitForMessage } from './support/chat-view.js';
import { newUser, type BrowserUser } from './support/chromium.js';
import { type BrowserRig, startBrowserRig } from './support/rig.js';

/**
 * The browser client repairs what pub/sub lost without a reload: a gap (messages its instance
 * never got while its subscriber was cut off) is fetched after the room-seq notice, and a Redis that
 * lost its last writes (new epoch) makes the page resync instead of dropping new messages.
 */

let rig: BrowserRig;
let cluster: TestCluster;
let alice: BrowserUser;
let bob: BrowserUser;
const room = 'Delivery';

const texts = async (user: BrowserUser) => (await shownMessages(user.page)).map((m) => m.text);

async function allReady(): Promise<boolean> {
  const all = await Promise.all(cluster.instances.map((i) => serving(i.url)));
  return all.every(Boolean);
}

beforeAll(async () => {
  rig = await startBrowserRig({ instances: 3 }, 2);
  cluster = rig.cluster;
  alice = await newUser(rig.browser, 'alice', rig.door(0));
  bob = await newUser(rig.browser, 'bob', rig.door(1));
  await register(alice.page, alice.name);
  await register(bob.page, bob.name);
  await createRoom(alice.page, room);
  await joinRoom(bob.page, room);
});

afterAll(async () => {
  await rig?.stop();
});

describe('the chat page when pub/sub or Redis loses messages', () => {
  it('shows what its instance missed while pub/sub was down, without a reload, none twice', async () => {
    await sendMessage(alice.page, 'before');
    await waitForMessage(bob.page, alice.name, 'before');
    const bobInstance = await pageInstance(bob.page);
    expect(bobInstance).not.toBe(await pageInstance(alice.page));

    // Bob's instance loses its subscriber connection and cannot open another for now.
    const raw = createClient({ url: cluster.redis.url });
    await raw.connect();
    try {
      const list = await raw.clientList();
      const sub = list.find((c) => c.name === `${bobInstance}-sub`);
      expect(sub, 'the subscriber connection of bob’s instance').toBeDefined();
      await raw.configSet('maxclients', String(list.length - 1));
      await raw.sendCommand(['CLIENT', 'KILL', 'ID', String(sub?.id)]);
      await sendMessage(alice.page, 'missed 1');
      await sendMessage(alice.page, 'missed 2');
      await waitForMessage(alice.page, alice.name, 'missed 2');
      expect(await texts(bob)).toEqual(['before']);
    } finally {
      await raw.configSet('maxclients', '10000');
      await raw.close();
    }
    await waitForMessage(bob.page, alice.name, 'missed 2', 20_000);
    const shown = await shownMessages(bob.page);
    expect(shown.map((m) => m.text)).toEqual(['before', 'missed 1', 'missed 2']);
    expect(duplicateSeqs(shown)).toEqual([]);
  });

  it('resyncs after Redis lost its last writes and shows the messages that reuse their seqs', async () => {
    // Deterministic lost writes: the data dir of a clean stop comes back after more was acked.
    const data = path.join(cluster.dir, 'redis', 'data');
    const snapshot = path.join(cluster.dir, 'redis-snapshot');
    await cluster.stopRedis('SIGTERM');
    cpSync(data, snapshot, { recursive: true });
    await cluster.startRedis();
    await until(allReady, Boolean, 'instances ready after the clean restart', 30_000);
    await sendMessage(alice.page, 'soon lost');
    const lost = await waitForMessage(bob.page, alice.name, 'soon lost', 20_000);

    await cluster.stopRedis('SIGKILL');
    rmSync(data, { recursive: true, force: true });
    cpSync(snapshot, data, { recursive: true });
    await cluster.startRedis();
    await until(allReady, Boolean, 'instances ready after the crash', 30_000);

    await sendMessage(alice.page, 'after the crash');
    const next = await waitForMessage(bob.page, alice.name, 'after the crash', 20_000);
    expect(next.seq).toBe(lost.seq); // the counter went back: same seq, new epoch, still shown
    for (const user of [alice, bob]) {
      const shown = await until(
        () => shownMessages(user.page),
        (list) => !list.some((m) => m.text === 'soon lost'),
        `${user.name}'s page resynced`,
      );
      expect(shown.map((m) => m.text)).toEqual(['before', 'missed 1', 'missed 2', 'after the crash']);
      expect(duplicateSeqs(shown)).toEqual([]);
    }
  });
});
