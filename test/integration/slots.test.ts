import calculateSlot from 'cluster-key-slot';
import type { RedisClientType } from 'redis';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKeys, presenceBucketOf } from '../../src/redis/keys.js';
import { connect, emitAck, eventually, signUp, startApp, type TestApp } from '../helpers/app.js';
import { nodeClientFor } from '../helpers/redis.js';

/**
 * Every command the instances send that names more than one key (scripts, MGET, DEL…) keeps all
 * of them in one hash slot, as a Redis Cluster requires. Watched with MONITOR on the one server
 * while the flows run: sign-up, sessions, rooms, chat, who, room-stats, presence moves, a reap of
 * an instance whose lease lapsed and that instance's resync, private rooms and DMs. On a cluster a
 * cross-slot command fails by itself (CROSSSLOT) in every other test, and MONITOR sees one node
 * only, so this file runs in standalone mode.
 */
const mode = inject('redisEnv').REDIS_MODE ?? 'standalone';

/** Commands whose every argument is a key. */
const ALL_KEYS = new Set(['mget', 'del', 'exists', 'unlink', 'touch', 'watch', 'sinter', 'sunion', 'sdiff']);

/** The arguments of one MONITOR line (`<time> [<db> <addr>] "cmd" "arg" …`), unescaped enough to compare. */
function args(line: string): string[] {
  const out: string[] = [];
  for (const m of line.matchAll(/"((?:[^"\\]|\\.)*)"/g)) out.push((m[1] ?? '').replace(/\\(.)/g, '$1'));
  return out;
}

/** The keys a command names, when it can name several; undefined for single-key commands. */
function multiKeys(argv: string[]): string[] | undefined {
  const cmd = argv[0]?.toLowerCase() ?? '';
  if (cmd === 'eval' || cmd === 'evalsha' || cmd === 'eval_ro' || cmd === 'evalsha_ro') {
    return argv.slice(3, 3 + Number(argv[2]));
  }
  if (cmd === 'mset') return argv.slice(1).filter((_, i) => i % 2 === 0);
  if (ALL_KEYS.has(cmd)) return argv.slice(1);
  return undefined;
}

const B_ID = `slots-b-${process.pid}`;
let a: TestApp;
let b: TestApp;
let monitor: RedisClientType | undefined;
const sockets: Socket[] = [];
const seen: { argv: string[]; keys: string[] }[] = [];

beforeAll(async () => {
  if (mode !== 'standalone') return;
  a = await startApp({ name: 'slots', env: { INSTANCE_ID: `slots-a-${process.pid}` } });
  b = await startApp({ name: 'slots', prefix: a.prefix, env: { INSTANCE_ID: B_ID } });
  monitor = await nodeClientFor(inject('redisUrl'), mode, 'x');
  await monitor.monitor((line: string) => {
    const argv = args(String(line));
    const keys = multiKeys(argv);
    if (keys && keys.some((k) => k.startsWith(a.prefix))) seen.push({ argv, keys });
  });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  if (monitor?.isOpen) await monitor.close();
  await Promise.all([a?.close(), b?.close()]);
});

describe.skipIf(mode !== 'standalone')('hash slots (standalone only: MONITOR sees one node)', () => {
  it('keeps every multi-key command and script within one slot', async () => {
    const keys = createKeys(a.prefix);
    const alice = await signUp(a.url);
    const bob = await signUp(b.url);
    const as = await connect(a.url, alice.cookie);
    const bs = await connect(b.url, bob.cookie);
    sockets.push(as, bs);
    const rooms = ['Slots north', 'Slots south'];
    for (const r of rooms) expect(await emitAck(as, 'create-room', r)).toMatchObject({ success: true });
    await emitAck(as, 'join-room', rooms[0]);
    await emitAck(bs, 'join-room', rooms[1]);
    await emitAck(as, 'message', { text: 'hello', clientId: 'c1' });
    await emitAck(as, 'message', { text: 'hello', clientId: 'c1' });
    await emitAck(bs, 'message', { text: 'hi' });
    await emitAck(bs, 'join-room', rooms[0]);
    // Issue 14: mentions of two users, an edit, a deletion, a catch-up over them, read markers.
    const carol = await signUp(a.url);
    const mention = await emitAck(as, 'message', { text: `hey @${bob.username} @${carol.username}` });
    const seq = (mention.message as { seq: number }).seq;
    expect(await emitAck(as, 'edit-message', { room: rooms[0], seq, text: 'edited' })).toMatchObject({
      success: true,
    });
    expect(await emitAck(as, 'delete-message', { room: rooms[0], seq: 1 })).toMatchObject({ success: true });
    expect(await emitAck(bs, 'join-room', { room: rooms[0], since: 1 })).toMatchObject({ success: true });
    expect(await emitAck(bs, 'mark-read', { room: rooms[0], seq })).toMatchObject({ success: true });
    expect(await emitAck(bs, 'unread')).toMatchObject({ success: true });
    expect(await emitAck(as, 'who')).toMatchObject({ success: true });
    expect(await emitAck(as, 'room-stats')).toMatchObject({ success: true });

    // Instance b's lease lapses (as when it stalls): a reaps it, then b's heartbeat resyncs.
    const reaped = Date.now();
    const roomBucket = presenceBucketOf(rooms[0] ?? '');
    await a.server.redis.data.zAdd(keys.presenceLeases(roomBucket), { score: 1, value: B_ID });
    await eventually(
      () => seen.some((s) => s.keys.includes(keys.presenceInstance(roomBucket, B_ID))),
      'a reap or resync of instance b',
    );
    await eventually(async () => {
      const stats = await emitAck(as, 'room-stats');
      const list = stats.rooms as { name: string; members: number }[];
      return list.find((r) => r.name === rooms[0])?.members === 2;
    }, 'room counts whole again after the reap and the resync');
    expect(Date.now() - reaped).toBeLessThan(10_000);
    await emitAck(bs, 'leave-room');

    // Private rooms and DMs (issue 14): creation, invite, a member's message, removal, deletion.
    const hidden = 'Slots hidden';
    expect(await emitAck(as, 'create-room', { name: hidden, visibility: 'private' })).toMatchObject({
      success: true,
    });
    await emitAck(as, 'invite', { room: hidden, user: bob.username });
    await emitAck(bs, 'join-room', hidden);
    await emitAck(bs, 'message', { text: 'member' });
    await emitAck(as, 'remove-member', { room: hidden, user: bob.username });
    expect(await emitAck(bs, 'message', { text: 'removed' })).toMatchObject({ code: 'not_member' });
    expect(await emitAck(as, 'delete-room', { room: hidden })).toMatchObject({ success: true });
    expect(await emitAck(as, 'open-dm', { user: bob.username })).toMatchObject({ success: true });

    expect(seen.filter((s) => s.argv[0]?.toLowerCase().startsWith('eval')).length).toBeGreaterThan(8);
    const crossing = seen.filter((s) => new Set(s.keys.map((k) => calculateSlot(k))).size > 1);
    expect(crossing.map((s) => s.argv.slice(0, 3 + s.keys.length).join(' '))).toEqual([]);
  });
});
