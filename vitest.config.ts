import { defineConfig } from 'vitest/config';

/** Test tiers: each is a vitest project, run alone with `vitest run --project <name>`. */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/redis-global-setup.ts'],
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The integration files again, against a local Redis Cluster (3 masters + 3 replicas).
        test: {
          name: 'integration-cluster',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/redis-global-setup.ts'],
          env: { TEST_REDIS_MODE: 'cluster' },
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The integration files again, against Sentinel (primary + replica + 3 sentinels).
        test: {
          name: 'integration-sentinel',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/redis-global-setup.ts'],
          env: { TEST_REDIS_MODE: 'sentinel' },
          testTimeout: 20_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'docker',
          include: ['test/docker/**/*.test.ts'],
          globalSetup: ['test/docker/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
