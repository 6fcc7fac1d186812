import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisProcess } from '../../tools/cluster/redis.js';
import { connect, emitAck, eventually, signUp, startApp } from '../helpers/app.js';

/**
 * Commands the Socket.IO adapter sends without awaiting them (a room's SSUBSCRIBE/SUNSUBSCRIBE in
 * dynamic mode, its publishes, its unsubscribes on close) queue on a client that is reconnecting;
 * closing that client rejects them. Such a rejection must be handled, never surface as an unhandled
 * rejection (which ends a process run with --unhandled-rejections=strict, and fails a test run).
 */

let dir: string;
let redis: RedisProcess;
const unhandled: unknown[] = [];
const record = (reason: unknown) => void unhandled.push(reason);

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-outage-shutdown-'));
  redis = await startRedisServer({ dir, appendonly: false });
  unhandled.length = 0;
  process.on('unhandledRejection', record);
});

afterEach(async () => {
  process.off('unhandledRejection', record);
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

afterAll(() => process.off('unhandledRejection', record));

describe('shutting down while Redis is away', () => {
  it('leaves no unhandled rejection from the commands queued on reconnecting clients', async () => {
    const app = await startApp({ name: 'outage-shutdown', env: { REDIS_URL: redis.url } });
    const user = await signUp(app.url);
    const socket = await connect(app.url, user.cookie);
    for (const room of ['Queued one', 'Queued two', 'Queued three']) {
      expect((await emitAck(socket, 'create-room', room)).success).toBe(true);
      expect((await emitAck(socket, 'join-room', room)).success).toBe(true);
    }
    await redis.stop();
    await eventually(() => !app.server.redis.sub.isReady, 'the subscriber is reconnecting', 10_000);
    // The socket leaves its rooms: the adapter queues one SUNSUBSCRIBE per room on the subscriber,
    // and its broadcasts (presence, onlineUsers) publish on the reconnecting publisher.
    socket.close();
    await eventually(() => app.server.realtime.io.sockets.sockets.size === 0, 'the socket is gone', 5_000);
    await app.close();
    // Rejections are reported once the microtask queue drains; give them a macrotask or two.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled.map((r) => (r instanceof Error ? r.message : String(r)))).toEqual([]);
  });
});
