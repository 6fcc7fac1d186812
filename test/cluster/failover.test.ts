import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/poll.js';
import { ChatClient } from '../helpers/chat-client.js';
import { request, serving, startCluster, type TestCluster } from '../helpers/cluster.js';

let cluster: TestCluster;
let users: ChatClient[] = [];
let room = '';

const USERS = 30;
/** Each user sends every 300 ms: about 100 messages/s in total. */
const SEND_EVERY_MS = 300;

/** Runs a steady load until `stop` resolves; returns how many sends were started. */
function load(stop: Promise<unknown>, label: string): Promise<number> {
  let done = false;
  void stop.finally(() => (done = true));
  let started = 0;
  return new Promise((resolve) => {
    const loops = users.map(async (u, i) => {
      await delay((i * SEND_EVERY_MS) / USERS);
      while (!done) {
        started++;
        void u.send(`${label} ${i} ${started}`);
        await delay(SEND_EVERY_MS);
      }
    });
    void Promise.all(loops).then(() => resolve(started));
  });
}

async function storedCount(): Promise<number> {
  const res = await request(`${cluster.nginxUrl}/api/rooms/${encodeURIComponent(room)}/messages?limit=1`, {
    headers: { cookie: users[0]!.cookie },
  });
  return (JSON.parse(res.body) as { latestSeq: number }).latestSeq;
}

/** Every user saw every stored message, none twice, and nothing is left unsent. */
async function expectNothingLost(label: string): Promise<void> {
  await eventually(
    () => users.every((u) => u.connected && u.pending.size === 0),
    `${label}: all back, nothing pending`,
    20_000,
  ).catch((err: unknown) => {
    const state = users.map(
      (u) => `${u.socket.connected ? 'C' : 'c'}${u.connected ? 'B' : 'b'}${u.pending.size}r${u.reconnects}`,
    );
    throw new Error(`${String(err)}: ${state.join(' ')}`);
  });
  const total = await storedCount();
  await eventually(
    () => users.every((u) => u.seen.size === total),
    `${label}: everyone saw all ${total}`,
    20_000,
  );
  for (const u of users) {
    expect(u.liveDuplicates).toBe(0);
    expect(Math.max(...u.seen.keys())).toBe(total);
  }
  // A retried send is stored once: no text (each send's is unique) appears under two seqs.
  const texts = [...users[0]!.seen.values()].map((m) => m.text);
  expect(new Set(texts).size).toBe(texts.length);
  const outages = users.flatMap((u) => u.outages);
  console.info(
    `[figures] ${label}: ${total} messages stored and seen by all ${users.length} users, 0 twice; ` +
      `${outages.length} reconnects, slowest back after ${Math.max(0, ...outages)} ms`,
  );
}

beforeAll(async () => {
  // A history large enough to hold the whole run: every message must be checkable.
  cluster = await startCluster({ instances: 3, env: { HISTORY_SIZE: '5000', HISTORY_ON_JOIN: '50' } });
  users = await Promise.all(
    Array.from({ length: USERS }, (_, i) =>
      ChatClient.create(cluster.nginxUrl, { from: `127.0.2.${i + 2}` }),
    ),
  );
  room = `Failover ${Date.now()}`;
  expect((await users[0]!.emit('create-room', room)).success).toBe(true);
  for (const u of users) expect((await u.join(room)).success).toBe(true);
});
afterAll(async () => {
  for (const u of users) u.close();
  await cluster?.stop();
});

describe('failover under load (~30 users, ~100 msg/s, 3 instances behind nginx)', () => {
  it('survives a SIGKILLed instance: everyone back within 5 s, nothing lost, nothing twice', async () => {
    const start = await storedCount();
    const stop = delay(6000);
    const sending = load(stop, 'kill');
    await delay(1500);
    await cluster.killInstance(1, 'SIGKILL');
    const sent = await sending;
    await expectNothingLost('SIGKILL');
    const outages = users.flatMap((u) => u.outages);
    expect(outages.length).toBeGreaterThan(0);
    expect(Math.max(...outages)).toBeLessThan(5000);
    expect(await storedCount()).toBe(start + sent);
    await cluster.instances[1]!.restart();
  });

  it('survives a rolling SIGTERM restart of every instance with no 5xx through nginx', async () => {
    const start = await storedCount();
    let stopLoad!: () => void;
    const stop = new Promise<void>((r) => (stopLoad = r));
    const sending = load(stop, 'rolling');
    const statuses: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const res = await request(`${cluster.nginxUrl}/api/rooms`, {
          headers: { cookie: users[1]!.cookie },
          from: '127.0.3.2',
        });
        statuses.push(res.status);
        await delay(20);
      }
    })();
    for (const instance of cluster.instances) {
      await delay(1000);
      await instance.restart();
    }
    await delay(1000);
    stopLoad();
    polling = false;
    const sent = await sending;
    await poller;
    await expectNothingLost('rolling restart');
    expect(await storedCount()).toBe(start + sent);
    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    console.info(`[figures] rolling restart: ${statuses.length} requests through nginx, 0 with 5xx`);
  });

  it('rides out a Redis restart: no instance exits, chat resumes across instances', async () => {
    const pids = cluster.instances.map((i) => i.pid);
    await cluster.restartRedis();
    await eventually(
      async () => {
        const all = await Promise.all(cluster.instances.map((i) => serving(i.url)));
        return all.every(Boolean);
      },
      'instances ready again',
      20_000,
    );
    expect(cluster.instances.map((i) => i.pid)).toEqual(pids);
    expect(cluster.instances.every((i) => i.running)).toBe(true);
    const before = await storedCount();
    await Promise.all(users.slice(0, 6).map((u, i) => u.send(`after redis restart ${i}`)));
    await expectNothingLost('redis restart');
    expect(await storedCount()).toBe(before + 6);
  });
});
