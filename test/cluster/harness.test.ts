import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { request, startCluster, type TestCluster } from '../helpers/cluster.js';
import { alive, childrenOf } from '../helpers/procs.js';

describe('cluster harness', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster({ instances: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('starts every instance healthy and ready, each with its own id', async () => {
    expect(cluster.instances.map((i) => i.id)).toEqual(['app-1', 'app-2', 'app-3']);
    for (const instance of cluster.instances) {
      const health = await request(`${instance.url}/healthz`);
      expect(health.status).toBe(200);
      expect(health.headers['x-instance-id']).toBe(instance.id);
      expect((await request(`${instance.url}/readyz`)).status).toBe(200);
    }
  });

  it('answers through nginx', async () => {
    expect((await request(`${cluster.nginxUrl}/healthz`)).status).toBe(200);
    expect((await request(`${cluster.nginxUrl}/readyz`)).status).toBe(200);
  });

  it('routes distinct client addresses to different instances, each one sticky', async () => {
    const sources = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7'];
    const seen = new Map<string, string>();
    for (const from of sources) {
      const first = await request(`${cluster.nginxUrl}/healthz`, { from });
      const again = await request(`${cluster.nginxUrl}/healthz`, { from });
      const id = String(first.headers['x-instance-id']);
      expect(cluster.instances.map((i) => i.id)).toContain(id);
      expect(again.headers['x-instance-id']).toBe(id);
      seen.set(from, id);
    }
    // With 3 upstreams, all 6 addresses hashing to one instance has a probability of about 0.4 %.
    expect(new Set(seen.values()).size, JSON.stringify(Object.fromEntries(seen))).toBeGreaterThanOrEqual(2);
  });

  it('stop() leaves no process and no temp dir behind', async () => {
    const pids = cluster.pids();
    expect(pids).toHaveLength(1 + 3 + 1); // redis, instances, nginx master
    const workers = pids.flatMap(childrenOf);
    expect(workers.length).toBeGreaterThan(0); // nginx workers
    const all = [...pids, ...workers];
    await cluster.stop();
    await vi.waitFor(() => expect(all.filter(alive), 'harness processes still alive').toEqual([]), {
      timeout: 5000,
      interval: 50,
    });
    expect(existsSync(cluster.dir)).toBe(false);
    await cluster.stop(); // idempotent
  });
});
