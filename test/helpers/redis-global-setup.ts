import type { TestProject } from 'vitest/node';
import { startTestRedis } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the Redis shared by the integration project (on a cluster: one of its masters). */
    redisUrl: string;
    /** REDIS_* settings every app in the project gets (REDIS_MODE and its nodes); empty for standalone. */
    redisEnv: Record<string, string>;
  }
}

/**
 * globalSetup of the integration projects: one Redis topology for all their files (each file
 * isolates itself with `uniquePrefix()`), stopped after the last file.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await startTestRedis();
  project.provide('redisUrl', redis.url);
  project.provide('redisEnv', {});
  return async () => {
    await redis.stop();
  };
}
