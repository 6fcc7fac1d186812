import {
  createClient,
  createCluster,
  createSentinel,
  type RedisClientType,
  type RedisClusterType,
  type RedisSentinelType,
} from 'redis';
import type { RedisTopology } from '../config.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ReplicaAck, ReplicaAckError, type AckRoute } from './replica-ack.js';

/**
 * The one place Redis clients are configured, for every topology (REDIS_MODE):
 * - standalone: one server (REDIS_URL);
 * - cluster: a Redis Cluster discovered from seed nodes (REDIS_CLUSTER_NODES);
 * - sentinel: a primary found and followed through sentinels (REDIS_SENTINELS, REDIS_SENTINEL_MASTER).
 * No offline queue: while Redis is away commands fail at once. No per-command timer: node-redis 6
 * arms an AbortSignal.timeout for every command by default, about 8% of an instance's CPU under chat
 * load; the data client carries a shared coarse deadline instead (CommandDeadline below).
 */

type Standalone = RedisClientType;
type AnyClient = RedisClientType | RedisClusterType | RedisSentinelType;

/**
 * What the stores may call: single-key commands and scripts, which every topology routes by key.
 * No MULTI/pipelines (a cluster cannot run one across slots) and no scan helpers (cluster and
 * sentinel clients lack `hScanIterator`); standalone, cluster and sentinel clients all satisfy it.
 */
export type RedisClient = Pick<
  Standalone,
  | 'get'
  | 'set'
  | 'del'
  | 'exists'
  | 'expire'
  | 'hGet'
  | 'hExists'
  | 'hGetAll'
  | 'hSetNX'
  | 'hSet'
  | 'hDel'
  | 'lLen'
  | 'hScan'
  | 'hKeys'
  | 'hLen'
  | 'hmGet'
  | 'zAdd'
  | 'zCard'
  | 'zRange'
  | 'zRangeByScore'
  | 'zRem'
  | 'zScore'
  | 'sCard'
  | 'zRangeByLex'
  | 'evalSha'
  | 'eval'
  | 'info'
  | 'ping'
  // Issue 14 (message changes, read markers, suspension):
  | 'zCount'
  | 'sAdd'
  | 'sRem'
  | 'sIsMember'
  | 'sCard'
  | 'sMembers'
> & { readonly isReady: boolean };

/** What the readiness probe and the adapter need of the pub/sub connections. */
export type PubSubClient = Pick<Standalone, 'publish' | 'subscribe'> & {
  unsubscribe(channel: string): Promise<unknown>;
  on(event: 'ready', listener: () => void): unknown;
  off(event: 'ready', listener: () => void): unknown;
  readonly isReady: boolean;
};

/**
 * Writes that must survive a failover (the message appends). Redis replicates asynchronously: a
 * write the primary acknowledged can still be lost when it dies (SIGKILL) or hands over (SENTINEL
 * FAILOVER: the old primary keeps acknowledging until clients follow the new one, then discards
 * those writes). So an append runs on `client` and is then confirmed with `WAIT <replicas> <ms>`
 * on the same connection (WAIT covers every write that connection made before it): the message is
 * acknowledged only once that many replicas hold it, and a failover promotes a replica that does.
 * `client` is a connection of its own, so WAIT (which holds its connection until the replicas
 * answer) never delays the other commands; appends queued behind one WAIT are covered by the next
 * in one round trip, which batches them under load. With `replicas` 0, `client` is the data client
 * and `confirm` does nothing.
 */
export interface DurableWrites {
  readonly replicas: number;
  readonly client: RedisClient;
  /**
   * Resolves once `replicas` replicas hold every write `client` made so far on the connection that
   * serves `key` (its slot's master in a cluster, the primary under Sentinel). Rejects with
   * ReplicaAckError (code `unavailable`) when they do not within REDIS_ACK_TIMEOUT_MS: the write may
   * or may not survive, so the caller answers `unavailable` and the client retries with its clientId.
   * A primary left without replicas acks unconfirmed after REDIS_ACK_GRACE_MS (see ReplicaAck).
   */
  confirm(key: string): Promise<void>;
}

export interface RedisClients {
  mode: RedisTopology['mode'];
  /** Message appends, confirmed on replicas (REDIS_ACK_REPLICAS). */
  durable: DurableWrites;
  /** Commands (users, rooms, messages, presence, sessions, rate limits), under the command deadline. */
  data: RedisClient;
  /** Adapter publishing. */
  pub: PubSubClient;
  /** Adapter subscriptions (a connection in subscriber mode can run nothing else). */
  sub: PubSubClient;
  /**
   * The same connection as `data`, typed for connect-redis (which names the standalone and cluster
   * types; a sentinel client serves the get/set/expire/del/mGet it calls just the same).
   */
  session: RedisClientType | RedisClusterType;
  /**
   * The pub and sub clients for the Socket.IO adapter (which takes any node-redis client), behind
   * withHandledRejections: the adapter sends commands it never awaits.
   */
  adapter: { pub: AnyClient; sub: AnyClient };
  /**
   * Calls `listener` whenever the subscriber (re)connected a node and subscribes again, so what
   * was published meanwhile may have been missed (see onResubscribe); returns the unregister.
   */
  onResubscribe(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Exponential backoff with jitter, capped at 2 s, forever: an outage must end in recovery, not exit. */
export function reconnectDelay(retries: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(retries, 6));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** A command unanswered within REDIS_COMMAND_TIMEOUT_MS: the caller answers `unavailable`. */
export class RedisTimeoutError extends AppError {
  constructor(ms: number) {
    super('unavailable', `The chat store did not answer within ${ms} ms; try again shortly.`);
    this.name = 'RedisTimeoutError';
  }
}

/**
 * A deadline for many commands at the cost of one timer: time is cut into ticks of ~deadline/8
 * (at least 10 ms, at most 250 ms); every command started in a tick races one promise shared by
 * that tick's cohort, rejected once the deadline has passed for the whole cohort. A command thus
 * fails between `ms` and `ms` + one tick after it started, with RedisTimeoutError (code
 * `unavailable`). Per command: one Promise.race, no timer, no AbortSignal.
 */
export class CommandDeadline {
  private readonly tickMs: number;
  private readonly ticks: number;
  private now = 0;
  private readonly due = new Map<number, { promise: Promise<never>; reject: (err: Error) => void }>();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly ms: number) {
    this.tickMs = Math.min(250, Math.max(10, Math.floor(ms / 8)));
    this.ticks = Math.ceil(ms / this.tickMs);
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** Resolves or rejects like `promise`, or rejects with RedisTimeoutError once the deadline passed. */
  race<T>(promise: Promise<T>): Promise<T> {
    const at = this.now + this.ticks + 1;
    let cohort = this.due.get(at);
    if (cohort === undefined) {
      let reject: (err: Error) => void = () => undefined;
      const p = new Promise<never>((_, r) => (reject = r));
      p.catch(() => undefined); // a cohort whose commands all answered rejects unobserved
      cohort = { promise: p, reject };
      this.due.set(at, cohort);
    }
    return Promise.race([promise, cohort.promise]);
  }

  private tick(): void {
    this.now++;
    const cohort = this.due.get(this.now);
    if (cohort === undefined) return;
    this.due.delete(this.now);
    cohort.reject(new RedisTimeoutError(this.ms));
  }

  /** Stops the timer; commands in flight keep their cohort (it never rejects). */
  stop(): void {
    clearInterval(this.timer);
  }
}

/** Methods that manage the connection rather than run a command: never under the deadline. */
const NOT_COMMANDS = new Set(['constructor', 'connect', 'close', 'quit', 'disconnect', 'destroy']);

/**
 * `client` behind a Proxy whose promise-returning command methods hand their promise to `wrap` and
 * return what it gives. A Proxy, so libraries that inspect the client (connect-redis,
 * rate-limiter-flexible, the Socket.IO adapter) still see what they expect; the wrapped method is
 * made once per name, not per call.
 */
function wrapCommands<T extends object>(client: T, wrap: (result: Promise<unknown>) => unknown): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function' || typeof prop !== 'string' || NOT_COMMANDS.has(prop)) return value;
      let fn = wrapped.get(prop);
      if (fn === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]) => {
          const result = method.apply(target, args);
          return result instanceof Promise ? wrap(result) : result;
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}

/** `client` with every promise-returning method raced against `deadline`. */
export function withDeadline<T extends object>(client: T, deadline: CommandDeadline | undefined): T {
  if (deadline === undefined) return client;
  return wrapCommands(client, (result) => deadline.race(result));
}

/**
 * `client` for a library that sends commands without awaiting them: the Socket.IO Redis adapter
 * (its room SSUBSCRIBE/SUNSUBSCRIBE in dynamic mode, the classic adapter's PUBLISH, the unsubscribes
 * on close). Such a command queued on a reconnecting client is rejected when the client closes
 * (node-redis `DisconnectsClientError`), and nobody would handle it. Each command's promise gets a
 * handler that logs the failure at debug; the same promise is returned, so a caller that awaits
 * still sees the rejection.
 */
export function withHandledRejections<T extends object>(client: T, log: Logger): T {
  const onRejected = (err: unknown) =>
    log.debug({ err: err instanceof Error ? err.message : String(err) }, 'unawaited command failed');
  return wrapCommands(client, (result) => {
    result.catch(onRejected);
    return result;
  });
}

interface Built {
  client: AnyClient;
  connect(): Promise<unknown>;
}

/** Options every node connection gets, in every mode. */
function nodeOptions(t: RedisTopology) {
  return {
    ...(t.username === undefined ? {} : { username: t.username }),
    ...(t.password === undefined ? {} : { password: t.password }),
    disableOfflineQueue: true,
    pingInterval: 10_000,
  };
}

const socketOptions = (t: RedisTopology) => ({
  reconnectStrategy: reconnectDelay,
  connectTimeout: 5_000,
  ...(t.tls ? { tls: true as const } : {}),
});

/** One client of the topology, named `name`, with its error and topology events logged. */
function build(t: RedisTopology, name: string, log: Logger): Built {
  const l = log.child({ client: name });
  let down = false;
  const onError = (err: unknown) => {
    if (!down) l.warn({ err: err instanceof Error ? err.message : String(err) }, 'redis connection error');
    down = true;
  };
  const onReady = () => {
    if (down) l.info('redis connection restored');
    down = false;
  };
  if (t.mode === 'cluster') {
    const client = createCluster({
      rootNodes: t.clusterNodes.map((url) => ({ url })),
      defaults: { ...nodeOptions(t), name, socket: socketOptions(t) },
      commandOptions: { timeout: 0 },
    });
    client.on('error', onError);
    client.on('node-error', (err: Error, node: { host: string; port: number }) =>
      l.warn({ node: `${node.host}:${node.port}`, err: err.message }, 'redis cluster node error'),
    );
    client.on('node-disconnect', (node: { host: string; port: number }) =>
      l.warn({ node: `${node.host}:${node.port}` }, 'redis cluster node disconnected'),
    );
    client.on('node-ready', (node: { host: string; port: number }) =>
      l.info({ node: `${node.host}:${node.port}` }, 'redis cluster node ready'),
    );
    client.on('connect', onReady);
    return { client, connect: () => client.connect() };
  }
  if (t.mode === 'sentinel') {
    const client = createSentinel({
      name: t.sentinelMaster,
      sentinelRootNodes: t.sentinels.map((s) => ({ host: s.host, port: s.port })),
      nodeClientOptions: { ...nodeOptions(t), name, socket: socketOptions(t) },
      sentinelClientOptions: {
        ...(t.tls ? { socket: { tls: true as const } } : {}),
        ...(t.password === undefined ? {} : { password: t.password }),
        ...(t.username === undefined ? {} : { username: t.username }),
      },
      passthroughClientErrorEvents: true,
      scanInterval: 2_000,
      commandOptions: { timeout: 0 },
    });
    client.on('error', onError);
    client.on('ready', onReady);
    client.on('topology-change', (event: { type: string; node?: { host: string; port: number } }) =>
      l.info(
        { event: event.type, ...(event.node ? { node: `${event.node.host}:${event.node.port}` } : {}) },
        'redis sentinel topology change',
      ),
    );
    return { client, connect: () => client.connect() };
  }
  const client = createClient({
    url: t.url,
    name,
    ...nodeOptions(t),
    commandOptions: { timeout: 0 },
    socket: socketOptions(t),
  });
  client.on('error', onError);
  client.on('ready', onReady);
  return { client, connect: () => client.connect() };
}

/**
 * A sentinel client's close() destroys its pub/sub connection at once, rejecting whatever is still
 * queued on it: the unsubscribes the adapter sends (without awaiting them) as Socket.IO closes, which
 * then surface as unhandled rejections. One unsubscribe-all of each kind, awaited, queues behind them
 * (replies come in order), so once it answers the queue is empty. Standalone and cluster clients
 * close gracefully and need no drain.
 */
async function drainSubscriber(mode: RedisTopology['mode'], sub: AnyClient): Promise<void> {
  if (mode !== 'sentinel' || !sub.isReady) return;
  const s = sub as RedisSentinelType;
  await Promise.allSettled([s.unsubscribe(), s.sUnsubscribe()]);
}

/**
 * The subscriber's "connected again" signal, per topology (node-redis 6.3 events):
 * - standalone: `ready`, reported once the client re-subscribed after a reconnect;
 * - cluster: the cluster client reports no `ready` when one node comes back; each node client,
 *   the per-master clients that hold the sharded subscriptions included, reports `node-ready`
 *   (a node reconnecting, or a new master's subscription client after a failover moved a room's
 *   channel to it; there the SSUBSCRIBE follows the `node-ready`, so listeners look again shortly
 *   after, see SeqNotices);
 * - sentinel: `ready` once it followed a new primary (its pub/sub connection re-subscribed before
 *   that); a pub/sub connection that dropped and reconnects to the same primary reports only
 *   `error`, which counts too.
 */
function resubscribeHook(mode: RedisTopology['mode'], sub: AnyClient) {
  return (listener: () => void): (() => void) => {
    if (mode === 'cluster') {
      const cluster = sub as RedisClusterType;
      cluster.on('node-ready', listener);
      return () => void cluster.off('node-ready', listener);
    }
    const events = mode === 'sentinel' ? ['ready', 'error'] : ['ready'];
    for (const event of events) sub.on(event, listener);
    return () => {
      for (const event of events) sub.off(event, listener);
    };
  };
}

/**
 * How many replicas an append waits for: REDIS_ACK_REPLICAS, or for `auto` 1 when the topology
 * replicates (every master of the cluster, or the primary, has a connected replica), else 0. Standalone `auto` is 0: a lone server has no failover to survive.
 */
async function ackReplicas(t: RedisTopology, data: AnyClient, log: Logger): Promise<number> {
  if (t.ackReplicas !== 'auto') return t.ackReplicas;
  if (t.mode === 'standalone') return 0;
  const connectedReplicas = (info: string) => Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
  let replicated: boolean;
  if (t.mode === 'cluster') {
    // The cluster client lists replicas only when it reads from them: ask each master.
    const cluster = data as RedisClusterType;
    const infos = await Promise.all(
      cluster.masters.map(async (m) => (await cluster.nodeClient(m)).info('replication')),
    );
    replicated = infos.length > 0 && infos.every((info) => connectedReplicas(info) > 0);
  } else {
    replicated = connectedReplicas(await (data as RedisSentinelType).info('replication')) > 0;
  }
  if (!replicated) log.warn('REDIS_ACK_REPLICAS=auto: no replica found; messages are acked unreplicated');
  return replicated ? 1 : 0;
}

/** The connection that serves `key` on `client`, as an AckRoute (see replica-ack.ts). */
async function routeOf(t: RedisTopology, client: AnyClient, key: string): Promise<AckRoute> {
  if (t.mode === 'cluster') {
    const node = await (client as RedisClusterType).getNodeClientForKey(key);
    const socket = node.options?.socket as { host?: string; port?: number } | undefined;
    return { id: `${socket?.host}:${socket?.port}`, send: (args) => node.sendCommand(args) };
  }
  if (t.mode === 'sentinel') {
    const sentinel = client as RedisSentinelType;
    return { id: 'primary', send: (args) => sentinel.sendCommand(false, args) };
  }
  const standalone = client as Standalone;
  return { id: 'primary', send: (args) => standalone.sendCommand(args) };
}

/**
 * Creates and connects the data, pub and sub clients of `topology` (and the durable-writes client
 * when appends wait for replicas); `close()` is idempotent.
 * The data client answers RedisTimeoutError (`unavailable`) for a command unanswered within
 * REDIS_COMMAND_TIMEOUT_MS (0: no deadline).
 */
export async function connectRedisClients(
  topology: Readonly<RedisTopology>,
  instanceId: string,
  log: Logger,
): Promise<RedisClients> {
  const built = (['data', 'pub', 'sub'] as const).map((role) =>
    build(topology, `${instanceId}-${role}`, log),
  );
  const [data, pub, sub] = built as [Built, Built, Built];
  await Promise.all(built.map((b) => b.connect()));
  const replicas = await ackReplicas(topology, data.client, log).catch(async (err: unknown) => {
    await Promise.allSettled(built.map(({ client }) => client.destroy()));
    throw err;
  });
  log.info({ mode: topology.mode, ackReplicas: replicas }, `redis topology: ${topology.mode}`);
  const deadline = topology.commandTimeoutMs > 0 ? new CommandDeadline(topology.commandTimeoutMs) : undefined;
  const timed = withDeadline(data.client, deadline);
  let durable: DurableWrites = {
    replicas: 0,
    client: timed as unknown as RedisClient,
    confirm: () => Promise.resolve(),
  };
  if (replicas > 0) {
    const ack = build(topology, `${instanceId}-ack`, log);
    built.push(ack);
    await ack.connect();
    const ackLog = log.child({ client: `${instanceId}-ack` });
    const acks = new ReplicaAck({
      replicas,
      timeoutMs: topology.ackTimeoutMs,
      graceMs: topology.ackGraceMs,
      log: ackLog,
    });
    const race = deadline ? <T>(p: Promise<T>) => deadline.race(p) : <T>(p: Promise<T>) => p;
    durable = {
      replicas,
      client: withDeadline(ack.client, deadline) as unknown as RedisClient,
      // Whatever fails after the write was answered (no route to its slot mid-failover, the
      // connection lost) leaves its fate unknown: `unavailable`, and the client's retry settles it.
      confirm: (key) =>
        race(routeOf(topology, ack.client, key).then((route) => acks.confirm(route))).catch(
          (err: unknown) => {
            if (err instanceof AppError) throw err;
            ackLog.warn({ err: err instanceof Error ? err.message : String(err) }, 'replica ack failed');
            throw new ReplicaAckError(replicas, 0);
          },
        ),
    };
  }
  let closing: Promise<void> | undefined;
  const close = () => {
    deadline?.stop();
    closing ??= drainSubscriber(topology.mode, sub.client)
      .then(() =>
        Promise.allSettled(
          // A client still reconnecting would wait for Redis to come back: destroy it instead.
          built.map(async ({ client }) => {
            if (client.isReady) await client.close();
            else if (client.isOpen) await client.destroy();
          }),
        ),
      )
      .then(() => undefined);
    return closing;
  };
  return {
    mode: topology.mode,
    durable,
    data: timed as unknown as RedisClient,
    pub: pub.client as unknown as PubSubClient,
    sub: sub.client as unknown as PubSubClient,
    session: timed as unknown as RedisClientType,
    adapter: {
      pub: withHandledRejections(pub.client, log.child({ client: `${instanceId}-pub` })),
      sub: withHandledRejections(sub.client, log.child({ client: `${instanceId}-sub` })),
    },
    onResubscribe: resubscribeHook(topology.mode, sub.client),
    close,
  };
}

/** The server's major version, from INFO server (7 or more serves sharded pub/sub). */
export async function redisMajorVersion(client: RedisClient): Promise<number> {
  const info = await client.info('server');
  const match = /redis_version:(\d+)/.exec(info);
  return match?.[1] ? Number(match[1]) : 0;
}

// Compile-time proof that every topology's client satisfies the narrow types the stores use.
export const satisfiesNarrowTypes: readonly [
  (c: RedisClusterType) => RedisClient,
  (c: RedisSentinelType) => RedisClient,
  (c: RedisClusterType) => PubSubClient,
  (c: RedisSentinelType) => PubSubClient,
] = [(c) => c, (c) => c, (c) => c, (c) => c];
