import { inject } from 'vitest';
import { loadConfig, type RawEnv } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createServer, type ChatServerHandle } from '../../src/server.js';
import { uniquePrefix } from './prefix.js';

export const TEST_SECRET = 'integration-test-session-secret-0123456789';
export const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

export interface TestApp {
  url: string;
  server: ChatServerHandle;
  prefix: string;
  close(): Promise<void>;
}

/**
 * One real instance in this process on a free port, against the integration Redis, under a fresh
 * key prefix. Instances started with the same `prefix` form one cluster (shared adapter channels).
 */
export async function startApp(opts: { name: string; prefix?: string; env?: RawEnv }): Promise<TestApp> {
  const prefix = opts.prefix ?? uniquePrefix(opts.name);
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: inject('redisUrl'),
    // The project's topology, unless the test brings its own Redis.
    ...(opts.env?.REDIS_URL === undefined ? inject('redisEnv') : {}),
    REDIS_PREFIX: prefix,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    BCRYPT_ROUNDS: '10',
    RATE_LIMITS: 'off',
    METRICS_TOKEN,
    DRAIN_WINDOW_MS: '0',
    PRESENCE_HEARTBEAT_MS: '500',
    PRESENCE_LEASE_MS: '2000',
    ...opts.env,
  });
  const server = await createServer(
    config,
    createLogger({ instanceId: config.instanceId, level: config.logLevel }),
  );
  const port = await server.listen();
  return { url: `http://127.0.0.1:${port}`, server, prefix, close: () => server.close() };
}

export { getJson, postJson, serving, type HttpResult } from './http.js';
export { eventually } from './poll.js';
export { connect, emitAck, nextEvent, record, type Ack } from './socket.js';
export { signUp, uniqueUser } from './users.js';
