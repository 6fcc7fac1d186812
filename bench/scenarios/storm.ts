import { readFileSync } from 'node:fs';
import { registerAll, scrapeMetrics } from '../lib/http.js';
import { connectClients, sleep, userNames, withCluster, type Ctx } from '../lib/context.js';
import { nowMs, type ClientSpec, type GroupStatus } from '../lib/protocol.js';

/**
 * Reconnect storm: `sockets` signed-in idle sockets through nginx (the repository's nginx.conf,
 * `hash $remote_addr`: every bench socket comes from 127.0.0.1, so all of them sit on one
 * instance), then that instance is SIGKILLed. The clients reconnect through nginx with
 * socket.io-client's default backoff (1 s doubling to 5 s, randomizationFactor 0.5: the browser
 * client's settings, public/js/chat/connection.js) and nginx passes them to the survivors.
 * Measured: time from the kill to the last socket back, Redis commands per reconnect (INFO
 * commandstats over the storm, background work included), the survivors' event-loop lag p99 over
 * the storm (/metrics, reset by a scrape right before the kill), 5xx answers in nginx's access log
 * and failed attempts seen by the clients.
 */

export interface StormRow {
  sockets: number;
  /** The instance killed, and how many sockets it held (from its /metrics). */
  killedHeld: number;
  reconnected: number;
  /** Kill → last socket connected again, ms (NaN when not all came back). */
  allBackMs: number;
  redisCommandsPerReconnect: number;
  /** Survivors' nodejs_eventloop_lag_p99_seconds over the storm, ms, worst instance (raw, incl. 10 ms sampling). */
  survivorLagP99RawMs: number;
  /** Raw minus the 10 ms sampling interval. */
  survivorLagP99Ms: number;
  nginx5xx: number;
  clientConnectErrors: number;
  clientErrors: string[];
}

/** Sockets per signed-in session (tabs): keeps registrations (bcrypt) short at size. */
const SOCKETS_PER_SESSION = 50;
/** The product samples its event loop every 10 ms (metrics.ts). */
const LAG_SAMPLING_MS = 10;

function count5xx(accessLog: string): number {
  let text = '';
  try {
    text = readFileSync(accessLog, 'utf8');
  } catch {
    return 0;
  }
  return text.split('\n').filter((line) => /" 5\d\d /.test(line)).length;
}

async function status(ctx: Ctx, group: string): Promise<GroupStatus> {
  const all = await ctx.pool.all<GroupStatus>(() => ({ type: 'status', group }), 30_000);
  return all.reduce((a, b) => ({
    total: a.total + b.total,
    connected: a.connected + b.connected,
    reconnects: a.reconnects + b.reconnects,
    connectErrors: a.connectErrors + b.connectErrors,
    http5xx: a.http5xx + b.http5xx,
    errors: [...a.errors, ...b.errors].slice(0, 5),
    lastConnectAt: Math.max(a.lastConnectAt, b.lastConnectAt),
  }));
}

export async function stormRun(ctx: Ctx, sockets: number): Promise<StormRow> {
  const label = `storm-${sockets}`;
  return withCluster(
    ctx,
    { kind: 'product', label, instances: 3, env: { BCRYPT_ROUNDS: '10' }, nginx: true },
    async (cluster) => {
      const nginx = cluster.nginx;
      if (!nginx) throw new Error('no nginx');
      const sessions = Math.ceil(sockets / SOCKETS_PER_SESSION);
      const names = userNames(`storm${sockets}-`, sessions);
      const cookies = await registerAll(cluster.urls, names, 8);
      const specs: ClientSpec[] = Array.from({ length: sockets }, (_, i) => ({
        id: 300_000 + i,
        url: nginx.url,
        instance: -1,
        cookie: cookies[i % sessions],
        username: names[i % sessions] ?? '',
        sender: false,
        group: label,
        reconnect: true,
      }));
      const connected = await connectClients(ctx, specs, 100);
      if (connected.connected === 0)
        throw new Error(`storm: no socket connected: ${connected.errors.join('; ')}`);
      await sleep(ctx.smoke ? 500 : 2000);
      const held = await Promise.all(
        cluster.urls.map(
          async (url) => (await scrapeMetrics(url, cluster.metricsToken)).get('chat_sockets_connected') ?? 0,
        ),
      );
      const target = held.indexOf(Math.max(...held));
      const victim = cluster.instances[target];
      if (!victim) throw new Error('storm: no instance to kill');
      const survivors = cluster.urls.filter((_, i) => i !== target);
      await Promise.all(survivors.map((url) => scrapeMetrics(url, cluster.metricsToken))); // resets lag
      const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      const cmds0 = total(await cluster.commandStats());
      const t0 = nowMs();
      await victim.kill();
      const deadline = t0 + (ctx.smoke ? 30_000 : 60_000);
      let s = await status(ctx, label);
      while (s.connected < s.total && nowMs() < deadline) {
        await sleep(200);
        s = await status(ctx, label);
      }
      const allBack = s.connected === s.total;
      const lags = await Promise.all(
        survivors.map(
          async (url) =>
            ((await scrapeMetrics(url, cluster.metricsToken)).get('nodejs_eventloop_lag_p99_seconds') ??
              Number.NaN) * 1000,
        ),
      );
      await sleep(500);
      const cmds1 = total(await cluster.commandStats());
      const lag = Math.max(...lags);
      const row: StormRow = {
        sockets,
        killedHeld: held[target] ?? 0,
        reconnected: s.reconnects,
        allBackMs: allBack ? s.lastConnectAt - t0 : Number.NaN,
        redisCommandsPerReconnect: (cmds1 - cmds0) / Math.max(1, s.reconnects),
        survivorLagP99RawMs: lag,
        survivorLagP99Ms: Math.max(0, lag - LAG_SAMPLING_MS),
        nginx5xx: count5xx(nginx.accessLog),
        clientConnectErrors: s.connectErrors,
        clientErrors: s.errors,
      };
      ctx.log(
        `    storm ${sockets}: killed instance ${target + 1} holding ${row.killedHeld}; ${s.connected}/${s.total} back` +
          `${allBack ? ` in ${Math.round(row.allBackMs)} ms` : ' (not all)'}, ${row.redisCommandsPerReconnect.toFixed(1)} Redis commands per reconnect, ` +
          `survivors' lag p99 ${lag.toFixed(1)} ms raw, nginx 5xx ${row.nginx5xx}, client errors ${s.connectErrors}${s.errors.length ? ` (${s.errors.join('; ')})` : ''}`,
      );
      return row;
    },
  );
}
