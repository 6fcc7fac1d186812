import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';
import { pollUntil, redisCli } from './redis-cluster.js';
import {
  nodeView,
  startRedisServer,
  type RedisDeployment,
  type RedisNode,
  type RedisProcess,
  type RedisStarter,
} from './redis.js';

/**
 * A local Sentinel topology: one primary, `replicas` replicas (default 1) and `sentinels` sentinels
 * (default 3, quorum 2), every process on a free loopback port; ready once every sentinel knows
 * the primary, its replicas and the other sentinels, and every replica is in sync.
 */

export interface RedisSentinelOptions {
  /** The primary's name the sentinels know. Default `chat-primary`. */
  master?: string;
  /** Default 1. */
  replicas?: number;
  /** Default 3. */
  sentinels?: number;
  /** down-after-milliseconds: how long a silent primary takes to be declared down. Default 2000. */
  downAfterMs?: number;
  /** failover-timeout, ms. Default 10000. */
  failoverTimeoutMs?: number;
  /** Time to wait for the topology to settle, ms. Default 30 s. */
  readyTimeoutMs?: number;
}

/** One data node or sentinel. */
export interface SentinelNode extends RedisNode {
  readonly role: 'data' | 'sentinel';
}

export interface RedisSentinelDeployment extends RedisDeployment {
  readonly master: string;
  /** The primary first, then the replicas (as started: roles change on failover). */
  readonly data: readonly SentinelNode[];
  readonly sentinels: readonly SentinelNode[];
  /** The data node the sentinels name as primary now. */
  primary(): Promise<SentinelNode | undefined>;
}

export function redisSentinel(opts: RedisSentinelOptions = {}): RedisStarter {
  const master = opts.master ?? 'chat-primary';
  const replicaCount = opts.replicas ?? 1;
  const sentinelCount = opts.sentinels ?? 3;
  const quorum = Math.floor(sentinelCount / 2) + 1;
  return {
    kind: 'sentinel',
    async start(dir: string): Promise<RedisSentinelDeployment> {
      const dataPorts: number[] = [];
      const sentinelPorts: number[] = [];
      const taken = new Set<number>();
      const take = async (into: number[]) => {
        for (;;) {
          const p = await freePort();
          if (!taken.has(p)) {
            taken.add(p);
            into.push(p);
            return;
          }
        }
      };
      for (let i = 0; i <= replicaCount; i++) await take(dataPorts);
      for (let i = 0; i < sentinelCount; i++) await take(sentinelPorts);
      const primaryPort = dataPorts[0] ?? 0;

      const dataProcs: (RedisProcess | undefined)[] = dataPorts.map(() => undefined);
      const sentinelProcs: (RedisProcess | undefined)[] = sentinelPorts.map(() => undefined);

      const bootData = async (i: number, replicaOf: number | undefined) => {
        const port = dataPorts[i] ?? 0;
        dataProcs[i] = await startRedisServer({
          port,
          dir: path.join(dir, `data-${port}`),
          appendonly: false,
          logFile: path.join(dir, `data-${port}.log`),
          name: `redis data node :${port}`,
          // A replica's sync starts at once, not after the default 5 s of waiting for more replicas.
          extraArgs: [
            '--repl-diskless-sync-delay',
            '0',
            ...(replicaOf === undefined ? [] : ['--replicaof', '127.0.0.1', String(replicaOf)]),
          ],
        });
      };
      const bootSentinel = async (i: number, firstStart: boolean) => {
        const port = sentinelPorts[i] ?? 0;
        const sdir = path.join(dir, `sentinel-${port}`);
        const conf = path.join(sdir, 'sentinel.conf');
        mkdirSync(sdir, { recursive: true });
        // The sentinel rewrites this file with what it learns; a restart keeps it.
        if (firstStart) {
          writeFileSync(
            conf,
            [
              `sentinel monitor ${master} 127.0.0.1 ${primaryPort} ${quorum}`,
              `sentinel down-after-milliseconds ${master} ${opts.downAfterMs ?? 2000}`,
              `sentinel failover-timeout ${master} ${opts.failoverTimeoutMs ?? 10_000}`,
              `sentinel parallel-syncs ${master} 1`,
              '',
            ].join('\n'),
          );
        }
        sentinelProcs[i] = await startRedisServer({
          port,
          dir: sdir,
          appendonly: false,
          configFile: conf,
          extraArgs: ['--sentinel'],
          readyLine: /Sentinel ID is|\+monitor master/,
          logFile: path.join(dir, `sentinel-${port}.log`),
          name: `redis sentinel :${port}`,
        });
      };
      const stopAll = async (signal?: NodeJS.Signals) => {
        // Sentinels first, so they do not fail over a primary that is only being stopped.
        for (const group of [sentinelProcs, dataProcs]) {
          await Promise.all(
            group.map(async (p) => {
              if (p?.running) await (signal ? p.kill(signal) : p.stop());
            }),
          );
        }
      };

      const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
      const waitReady = () =>
        pollUntil(
          async () => {
            for (const port of sentinelPorts) {
              const info = await redisCli(port, ['sentinel', 'master', master]);
              const field = (name: string) => new RegExp(`(?:^|\\n)${name}\\n(\\S+)`).exec(info)?.[1];
              if (field('flags') !== 'master') return false;
              if (Number(field('num-slaves')) < replicaCount) return false;
              if (Number(field('num-other-sentinels')) < sentinelCount - 1) return false;
            }
            for (const port of dataPorts.slice(1)) {
              const info = await redisCli(port, ['info', 'replication']);
              if (!/master_link_status:up/.test(info)) return false;
            }
            return true;
          },
          `every sentinel knows ${master}, its ${replicaCount} replicas and the other sentinels`,
          readyTimeoutMs,
        );

      try {
        await bootData(0, undefined);
        await Promise.all(dataPorts.slice(1).map((_, i) => bootData(i + 1, primaryPort)));
        await Promise.all(sentinelPorts.map((_, i) => bootSentinel(i, true)));
        await waitReady();
      } catch (err) {
        await stopAll('SIGKILL');
        throw err;
      }

      const node = (
        role: SentinelNode['role'],
        procs: (RedisProcess | undefined)[],
        port: number,
        i: number,
        boot: () => Promise<void>,
      ): SentinelNode => nodeView(procs, i, port, boot, { role });
      // A data node restarted after a failover comes back as a replica: the sentinels reconfigure it.
      const data = dataPorts.map((port, i) =>
        node('data', dataProcs, port, i, () => bootData(i, i === 0 ? undefined : primaryPort)),
      );
      const sentinels = sentinelPorts.map((port, i) =>
        node('sentinel', sentinelProcs, port, i, () => bootSentinel(i, false)),
      );

      return {
        kind: 'sentinel',
        master,
        url: `redis://127.0.0.1:${primaryPort}`,
        env: {
          REDIS_MODE: 'sentinel',
          REDIS_SENTINELS: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','),
          REDIS_SENTINEL_MASTER: master,
        },
        data,
        sentinels,
        async primary() {
          for (const s of sentinels.filter((x) => x.running)) {
            const reply = await redisCli(s.port, ['sentinel', 'get-master-addr-by-name', master]).catch(
              () => '',
            );
            const port = Number(reply.split('\n')[1]);
            const found = data.find((d) => d.port === port);
            if (found) return found;
          }
          return undefined;
        },
        pids: () => [...dataProcs, ...sentinelProcs].flatMap((p) => (p?.running ? [p.pid] : [])),
        get running() {
          return dataProcs.some((p) => p?.running);
        },
        exited: () => Promise.all(dataProcs.map((p) => p?.exited)).then(() => undefined),
        stop: () => stopAll(),
        kill: (signal: NodeJS.Signals = 'SIGKILL') => stopAll(signal),
        start: async () => {
          await Promise.all(data.map((d) => d.start()));
          await Promise.all(sentinels.map((s) => s.start()));
          await waitReady();
        },
      };
    },
  };
}
