import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { redisCluster } from '../../tools/cluster/redis-cluster.js';
import { redisSentinel } from '../../tools/cluster/redis-sentinel.js';
import { startTestRedis } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis shared by the integration project (cluster: one of its nodes; sentinel: the first primary). */
    redisUrl: string;
    /** REDIS_* settings every app in the project gets (REDIS_MODE and its nodes); empty for standalone. */
    redisEnv: Record<string, string>;
  }
}

/**
 * globalSetup of the integration projects: one Redis topology for all their files (each file
 * isolates itself with `uniquePrefix()`), stopped after the last file. The project's
 * TEST_REDIS_MODE picks it: `standalone` (default, see startTestRedis), `cluster` (3 masters +
 * 3 replicas) or `sentinel` (primary + replica + 3 sentinels), started from PATH's redis-server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const mode = project.config.env?.TEST_REDIS_MODE ?? 'standalone';
  if (mode === 'standalone') {
    const redis = await startTestRedis();
    project.provide('redisUrl', redis.url);
    project.provide('redisEnv', {});
    return async () => {
      await redis.stop();
    };
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), `test-redis-${mode}-`));
  const starter = mode === 'cluster' ? redisCluster() : redisSentinel();
  try {
    const deployment = await starter.start(dir);
    project.provide('redisUrl', deployment.url);
    project.provide('redisEnv', { ...deployment.env });
    return async () => {
      await deployment.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
