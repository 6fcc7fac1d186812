import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { connectRedisClients, RedisTimeoutError, type RedisClients } from '../../src/redis/clients.js';
import { startRedisServer, type RedisProcess } from '../../tools/cluster/redis.js';

/** A Redis of its own, frozen with SIGSTOP: it accepts nothing and answers nothing, like a hung node. */
let dir: string;
let redis: RedisProcess;
let clients: RedisClients;
const TIMEOUT_MS = 400;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'chat-deadline-'));
  redis = await startRedisServer({ dir, appendonly: false });
  const config = loadConfig({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: String(TIMEOUT_MS) });
  clients = await connectRedisClients(
    config.redis,
    'deadline-test',
    createLogger({ instanceId: 't', level: 'silent' }),
  );
});

afterAll(async () => {
  if (redis?.running) process.kill(redis.pid, 'SIGCONT');
  await clients?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('REDIS_COMMAND_TIMEOUT_MS', () => {
  it('fails commands to a silent Redis with unavailable once the deadline passes, then recovers', async () => {
    expect(await clients.data.ping()).toBe('PONG');
    process.kill(redis.pid, 'SIGSTOP');
    let resumed = false;
    try {
      const started = performance.now();
      const results = await Promise.allSettled([
        clients.data.get('k1'),
        clients.data.hGet('h', 'f'),
        clients.data.evalSha('0'.repeat(40), { keys: ['k'], arguments: [] }),
      ]);
      const elapsed = performance.now() - started;
      for (const r of results) {
        expect(r.status).toBe('rejected');
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(RedisTimeoutError);
          expect((r.reason as RedisTimeoutError).code).toBe('unavailable');
        }
      }
      // Fails no sooner than the deadline and at most one coarse tick (deadline/8) later, plus slack.
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 5);
      expect(elapsed).toBeLessThan(TIMEOUT_MS * 2);
      process.kill(redis.pid, 'SIGCONT');
      resumed = true;
      expect(await clients.data.set('after', '1')).toBe('OK');
      expect(await clients.data.get('after')).toBe('1');
    } finally {
      if (!resumed) process.kill(redis.pid, 'SIGCONT');
    }
  });

  it('leaves commands that answer in time alone', async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => clients.data.set(`ok:${i}`, String(i))),
    );
    expect(replies.every((r) => r === 'OK')).toBe(true);
  });
});
