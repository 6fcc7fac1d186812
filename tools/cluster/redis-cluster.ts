import path from 'node:path';
import { execa } from 'execa';
import { findBinary } from './paths.js';
import { freePort } from './ports.js';
import {
  nodeView,
  startRedisServer,
  type RedisDeployment,
  type RedisNode,
  type RedisProcess,
  type RedisStarter,
} from './redis.js';

/**
 * A local Redis Cluster: `masters` masters with `replicasPerMaster` replicas each (default 3 + 3),
 * every node on free loopback ports (client and bus), created with `redis-cli --cluster create`,
 * ready once every node reports cluster_state:ok and knows every other node, and every replica is
 * in sync with its master.
 */

export interface RedisClusterOptions {
  /** Default 3. */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** cluster-node-timeout, ms: how long a silent master takes to be failed over. Default 2000. */
  nodeTimeoutMs?: number;
  /** AOF on every node. Default false (the replicas hold the data). */
  appendonly?: boolean;
  /** Time to wait for the cluster to form, ms. Default 30 s. */
  readyTimeoutMs?: number;
}

/** One node of the cluster; start() brings it back with the same node id, from its nodes.conf. */
export type ClusterNode = RedisNode;

export interface RedisClusterDeployment extends RedisDeployment {
  readonly nodes: readonly ClusterNode[];
  /** The nodes that are masters now (CLUSTER NODES as the first running node sees it). */
  masters(): Promise<ClusterNode[]>;
  /**
   * Resolves once every running node says cluster_state:ok and knows every running node, and every
   * replica has finished its sync with its master.
   */
  waitReady(timeoutMs?: number): Promise<void>;
}

/** Runs redis-cli against a port; resolves to its stdout. */
export async function redisCli(port: number, args: string[], timeoutMs = 5_000): Promise<string> {
  const cli = findBinary('redis-cli');
  if (cli === undefined) throw new Error('redis-cli not found on PATH');
  const { stdout } = await execa(cli, ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: timeoutMs,
  });
  return stdout;
}

/** Polls `probe` every 100 ms until it resolves true, or fails after `timeoutMs` naming `what`. */
export async function pollUntil(
  probe: () => Promise<boolean>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms: ${what}${last ? ` (${last})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function redisCluster(opts: RedisClusterOptions = {}): RedisStarter {
  const masters = opts.masters ?? 3;
  const replicas = opts.replicasPerMaster ?? 1;
  const total = masters * (1 + replicas);
  return {
    kind: 'cluster',
    async start(dir: string): Promise<RedisClusterDeployment> {
      const ports: { port: number; bus: number }[] = [];
      const taken = new Set<number>();
      while (ports.length < total) {
        const port = await freePort();
        const bus = await freePort();
        if (port === bus || taken.has(port) || taken.has(bus)) continue;
        taken.add(port).add(bus);
        ports.push({ port, bus });
      }
      const procs: (RedisProcess | undefined)[] = ports.map(() => undefined);
      const boot = async (i: number): Promise<void> => {
        const p = ports[i];
        if (p === undefined) return;
        const nodeDir = path.join(dir, `node-${p.port}`);
        procs[i] = await startRedisServer({
          port: p.port,
          dir: nodeDir,
          appendonly: opts.appendonly ?? false,
          logFile: path.join(dir, `node-${p.port}.log`),
          name: `redis cluster node :${p.port}`,
          // prettier-ignore
          extraArgs: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', path.join(nodeDir, 'nodes.conf'),
            '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 2000),
            '--cluster-port', String(p.bus),
            '--cluster-replica-validity-factor', '0',
            // A replica's first sync starts at once, not after the default 5 s of waiting for more.
            '--repl-diskless-sync-delay', '0',
          ],
        });
      };
      const stopAll = async (signal?: NodeJS.Signals) => {
        await Promise.all(
          procs.map(async (p) => {
            if (p?.running) await (signal ? p.kill(signal) : p.stop());
          }),
        );
      };
      try {
        await Promise.all(ports.map((_, i) => boot(i)));
        await redisCli(
          ports[0]?.port ?? 0,
          [
            '--cluster',
            'create',
            ...ports.map((p) => `127.0.0.1:${p.port}`),
            '--cluster-replicas',
            String(replicas),
            '--cluster-yes',
          ],
          30_000,
        );
      } catch (err) {
        await stopAll('SIGKILL');
        throw err;
      }

      const nodes: ClusterNode[] = ports.map((p, i) => nodeView(procs, i, p.port, () => boot(i), {}));

      const waitReady = (timeoutMs = opts.readyTimeoutMs ?? 30_000) =>
        pollUntil(
          async () => {
            const up = nodes.filter((n) => n.running);
            for (const n of up) {
              const info = await redisCli(n.port, ['cluster', 'info']);
              if (!/cluster_state:ok/.test(info)) return false;
              if (!new RegExp(`cluster_known_nodes:${total}\\b`).test(info)) return false;
              if (!/cluster_slots_ok:16384/.test(info)) return false;
              // A replica still waiting for its first sync holds nothing: were its master killed
              // now, it would be promoted empty (cluster-replica-validity-factor 0) and every
              // write so far lost.
              const repl = await redisCli(n.port, ['info', 'replication']);
              if (/role:slave/.test(repl) && !/master_link_status:up/.test(repl)) return false;
            }
            return up.length > 0;
          },
          'every cluster node says cluster_state:ok and every replica is in sync',
          timeoutMs,
        );
      await waitReady().catch(async (err: unknown) => {
        await stopAll('SIGKILL');
        throw err;
      });

      const urls = nodes.map((n) => n.url);
      return {
        kind: 'cluster',
        url: urls[0] ?? '',
        env: { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: urls.join(',') },
        nodes,
        waitReady,
        async masters() {
          const seed = nodes.find((n) => n.running);
          if (seed === undefined) return [];
          const lines = (await redisCli(seed.port, ['cluster', 'nodes'])).split('\n');
          const ports = new Set(
            lines
              .filter((l) => /\bmaster\b/.test(l) && !/\bfail\b/.test(l))
              .map((l) => Number(/:(\d+)@/.exec(l)?.[1])),
          );
          return nodes.filter((n) => ports.has(n.port));
        },
        pids: () => procs.flatMap((p) => (p?.running ? [p.pid] : [])),
        get running() {
          return procs.some((p) => p?.running);
        },
        // The cluster stops serving once every node is gone.
        exited: () => Promise.all(procs.map((p) => p?.exited)).then(() => undefined),
        stop: () => stopAll(),
        kill: (signal: NodeJS.Signals = 'SIGKILL') => stopAll(signal),
        start: async () => {
          await Promise.all(nodes.map((n) => n.start()));
          await waitReady();
        },
      };
    },
  };
}
