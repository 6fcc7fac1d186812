import { registerAll } from '../lib/http.js';
import { connectClients, inspectAll, sleep, userNames, withCluster, type Ctx } from '../lib/context.js';
import type { Inspector } from '../lib/inspector.js';
import { cpuMs, rssKb } from '../lib/procfs.js';
import type { ClientSpec, ServerKind } from '../lib/protocol.js';

/**
 * Scenario 2, idle connections: N authenticated sockets over 3 instances (no room), connected
 * CONCURRENCY at a time per load generator. The first 10 % warm the instances up (first-use code,
 * initial heap growth); RSS per connection is the growth of the instances' RSS while the other
 * 90 % connect, divided by them. Each reading follows a forced full GC (through the inspector the
 * instances are started with), so it counts what the connections hold, not garbage awaiting a
 * collection. Product sockets share sessions ten to one (like tabs), so the setup does not spend
 * minutes in bcrypt; every handshake still reads its session from Redis.
 */

const CONCURRENCY_PER_WORKER = 100;
const SOCKETS_PER_SESSION = 10;
const WARM_SHARE = 0.1;

export interface IdleRun {
  kind: ServerKind;
  sockets: number;
  sessions: number;
  connected: number;
  failed: number;
  /** Connecting all of them (both phases, settles excluded), ms. */
  connectMs: number;
  /** Sockets connected before the RSS baseline was read. */
  warmSockets: number;
  connectsPerS: number;
  /** Instance CPU per connect, ms. */
  cpuMsPerConnect: number;
  rssBeforeKb: number[];
  rssAfterKb: number[];
  rssPerConnKb: number;
  /** V8 heap in use (after GC) per connection, KB. */
  heapPerConnKb: number;
  /** Instance CPU while every socket sat idle, per second and per 1000 sockets (ms). */
  idleCpuMsPerSPer1k: number;
  /** Length of that idle window (ms): at least one ping interval at full size. */
  idleWindowMs: number;
}

export interface IdleResult {
  product: IdleRun;
  baseline: IdleRun;
}

/** Engine.io's ping interval in both servers (ms): an idle window of this length sees every socket's ping. */
const PING_INTERVAL_MS = 25_000;

/**
 * `sockets` idle signed-in sockets over 3 instances of `kind` (see the module comment), then the
 * instances' CPU over an idle window (`idleWindowMs`, default one ping interval; smoke 2 s).
 */
export async function idleRun(
  ctx: Ctx,
  kind: ServerKind,
  sockets: number,
  opts: { label?: string; idleWindowMs?: number; socketsPerSession?: number } = {},
): Promise<IdleRun> {
  const perSession = opts.socketsPerSession ?? SOCKETS_PER_SESSION;
  const instances = 3;
  const idleWindowMs = opts.idleWindowMs ?? (ctx.smoke ? 500 : PING_INTERVAL_MS);
  return withCluster(
    ctx,
    {
      kind,
      label: opts.label ?? `idle-${kind}`,
      instances,
      env: { BCRYPT_ROUNDS: '10', SETUP: 'default' },
      inspect: true,
    },
    async (cluster) => {
      const sessions = kind === 'product' ? Math.ceil(sockets / perSession) : 0;
      const names = userNames('idle', Math.max(sessions, 1));
      const cookies = kind === 'product' ? await registerAll(cluster.urls, names, 8) : [];
      const settleMs = ctx.smoke ? 500 : 3000;
      const pids = cluster.instances.map((i) => i.pid);
      const inspectors = await inspectAll(cluster);
      /** Full GC everywhere, a moment for the allocator, then RSS and heap in use per instance. */
      const reading = async () => {
        await sleep(settleMs);
        await Promise.all(
          inspectors.map((i: Inspector) => i.collectGarbage().then(() => i.collectGarbage())),
        );
        await sleep(500);
        return { rss: pids.map(rssKb), heap: await Promise.all(inspectors.map((i) => i.heapUsed())) };
      };
      const specs: ClientSpec[] = Array.from({ length: sockets }, (_, i) => ({
        id: i,
        url: cluster.urls[i % instances] ?? '',
        instance: i % instances,
        cookie: kind === 'product' ? cookies[i % sessions] : undefined,
        username: names[i % names.length] ?? `idle${i}`,
        sender: false,
        group: cluster.label,
      }));
      const warmCount = Math.max(instances, Math.round(sockets * WARM_SHARE));
      const cpuA = pids.reduce((s, pid) => s + cpuMs(pid), 0);
      const warm = await connectClients(ctx, specs.slice(0, warmCount), CONCURRENCY_PER_WORKER);
      const cpuB = pids.reduce((s, pid) => s + cpuMs(pid), 0);
      const before = await reading();
      const rssBeforeKb = before.rss;
      const cpu0 = pids.reduce((s, pid) => s + cpuMs(pid), 0);
      const rest = await connectClients(ctx, specs.slice(warmCount), CONCURRENCY_PER_WORKER);
      const cpu1 = pids.reduce((s, pid) => s + cpuMs(pid), 0);
      if (rest.connected === 0) throw new Error(`no socket connected: ${rest.errors.join('; ')}`);
      const after = await reading();
      for (const i of inspectors) i.close();
      const idle0 = pids.reduce((s, pid) => s + cpuMs(pid), 0);
      await sleep(idleWindowMs);
      const idleCpuMs = pids.reduce((s, pid) => s + cpuMs(pid), 0) - idle0;
      const rssAfterKb = after.rss;
      const heapGrown = after.heap.reduce((s, v, i) => s + v - (before.heap[i] ?? 0), 0) / 1024;
      const grown = rssAfterKb.reduce((s, v, i) => s + v - (rssBeforeKb[i] ?? 0), 0);
      const connected = warm.connected + rest.connected;
      const connectMs = warm.elapsedMs + rest.elapsedMs;
      ctx.log(
        `    ${kind}: idle CPU ${((idleCpuMs * 1000) / idleWindowMs / (connected / 1000)).toFixed(2)} ms/s per 1000 sockets over ${idleWindowMs} ms`,
      );
      ctx.log(
        `    ${kind}: ${connected} sockets in ${Math.round(connectMs)} ms; RSS +${(grown / 1024).toFixed(1)} MiB for the last ${rest.connected} = ` +
          `${(grown / rest.connected).toFixed(1)} KB/socket (V8 heap ${(heapGrown / rest.connected).toFixed(1)} KB/socket)`,
      );
      return {
        kind,
        sockets,
        sessions,
        connected,
        failed: warm.failed + rest.failed,
        connectMs,
        warmSockets: warm.connected,
        connectsPerS: (connected * 1000) / connectMs,
        cpuMsPerConnect: (cpu1 - cpu0 + (cpuB - cpuA)) / connected,
        rssBeforeKb,
        rssAfterKb,
        rssPerConnKb: grown / rest.connected,
        heapPerConnKb: heapGrown / rest.connected,
        idleCpuMsPerSPer1k: (idleCpuMs * 1000) / idleWindowMs / (connected / 1000),
        idleWindowMs,
      };
    },
  );
}

export async function idle(ctx: Ctx): Promise<IdleResult> {
  const sockets = ctx.smoke ? 60 : 3000;
  // The idle scenario keeps its short window; the scale scenario measures idle CPU at size.
  const idleWindowMs = ctx.smoke ? 500 : 2000;
  const product = await idleRun(ctx, 'product', sockets, { idleWindowMs });
  const baseline = await idleRun(ctx, 'baseline', sockets, { idleWindowMs });
  return { product, baseline };
}
