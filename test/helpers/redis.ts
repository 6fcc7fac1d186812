import calculateSlot from 'cluster-key-slot';
import { createClient, type RedisClientType } from 'redis';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { findBinary } from '../../tools/cluster/paths.js';
import { startRedisServer } from '../../tools/cluster/redis.js';

export interface TestRedis {
  url: string;
  /** Where it came from: REDIS_URL, a testcontainers container, or redis-server from PATH. */
  source: 'env' | 'container' | 'binary';
  /** Stops and removes what was started (a no-op for REDIS_URL). */
  stop(): Promise<void>;
}

/**
 * One Redis for tests, in this order of preference:
 * 1. REDIS_URL from the environment (stop is a no-op: it is not ours);
 * 2. a `redis:7-alpine` container via testcontainers, when a Docker engine answers quickly;
 * 3. `redis-server` from PATH on a free port, data in a temp dir (no persistence).
 * A container that fails to start (e.g. the image cannot be pulled offline) falls back to 3.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    return { url: fromEnv, source: 'env', stop: () => Promise.resolve() };
  }
  if (await dockerReachable()) {
    try {
      return await startContainer();
    } catch (err) {
      if (findBinary('redis-server') === undefined) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      process.stderr.write(`[test redis] container failed (${reason}); using redis-server from PATH\n`);
    }
  }
  return startBinary();
}

async function startContainer(): Promise<TestRedis> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('redis:7-alpine')
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(60_000)
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    source: 'container',
    stop: async () => {
      await container.stop();
    },
  };
}

async function startBinary(): Promise<TestRedis> {
  if (findBinary('redis-server') === undefined) {
    throw new Error(
      'No Redis for tests: set REDIS_URL, start a Docker engine, or install redis-server ' +
        '(apt-get install -y --no-install-recommends redis-server)',
    );
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'test-redis-'));
  try {
    const redis = await startRedisServer({ dir, appendonly: false });
    return {
      url: redis.url,
      source: 'binary',
      stop: async () => {
        await redis.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Whether a Docker engine answers GET /_ping within a second, on DOCKER_HOST (unix:// or tcp://)
 * or the usual socket paths. Quick on machines without one, where testcontainers would spend
 * seconds trying every strategy before failing.
 */
export async function dockerReachable(timeoutMs = 1000): Promise<boolean> {
  const candidates: net.NetConnectOpts[] = [];
  const dockerHost = process.env.DOCKER_HOST;
  if (dockerHost !== undefined && dockerHost !== '') {
    if (dockerHost.startsWith('unix://')) candidates.push({ path: dockerHost.slice('unix://'.length) });
    else if (dockerHost.startsWith('tcp://')) {
      const u = new URL(dockerHost.replace(/^tcp:/, 'http:'));
      candidates.push({ host: u.hostname, port: Number(u.port || 2375) });
    } else return true; // ssh:// and friends: let testcontainers try
  } else {
    candidates.push({ path: '/var/run/docker.sock' });
    const home = os.homedir();
    candidates.push({ path: path.join(home, '.docker', 'run', 'docker.sock') });
    const runtimeDir = process.env.XDG_RUNTIME_DIR;
    if (runtimeDir !== undefined) candidates.push({ path: path.join(runtimeDir, 'docker.sock') });
  }
  for (const target of candidates) {
    if (await pings(target, timeoutMs)) return true;
  }
  return false;
}

function pings(target: net.NetConnectOpts, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(target);
    let reply = '';
    socket.setTimeout(timeoutMs);
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => socket.write('GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (/^HTTP\/1\.[01] 200/.test(reply)) finish(true);
    });
    socket.once('timeout', () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('end', () => finish(/^HTTP\/1\.[01] 200/.test(reply)));
  });
}

/**
 * A fresh standalone client on the node that serves `key`: the server itself in standalone mode,
 * the master owning the key's slot on a cluster (found with CLUSTER SLOTS from `url`). For
 * commands that watch one node (MONITOR). The caller closes it.
 */
export async function nodeClientFor(url: string, mode: string, key: string): Promise<RedisClientType> {
  if (mode !== 'cluster') {
    const client: RedisClientType = createClient({ url });
    await client.connect();
    return client;
  }
  const seed: RedisClientType = createClient({ url });
  await seed.connect();
  let target: string;
  try {
    const slot = calculateSlot(key);
    const ranges = await seed.clusterSlots();
    const range = ranges.find((r) => r.from <= slot && slot <= r.to);
    if (range === undefined) throw new Error(`no node serves slot ${slot}`);
    target = `redis://${range.master.host}:${range.master.port}`;
  } finally {
    await seed.close();
  }
  const client: RedisClientType = createClient({ url: target });
  await client.connect();
  return client;
}
