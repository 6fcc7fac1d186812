import type { TestProject } from 'vitest/node';
import { startTestRedis } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis shared by the integration project; read it with `inject('redisUrl')`. */
    redisUrl: string;
  }
}

/**
 * globalSetup of the integration project: one Redis for all its files (each file isolates itself
 * with `uniquePrefix()`), stopped after the last file.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startTestRedis();
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
  };
}
