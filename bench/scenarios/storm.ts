import { readFileSync } from 'node:fs';
import { io as ioClient, type Socket } from 'socket.io-client';
import { createRooms, registerAll, scrapeMetrics } from '../lib/http.js';
import { connectClients, sleep, userNames, withCluster, type Ctx } from '../lib/context.js';
import { nowMs, type ClientSpec, type GroupStatus } from '../lib/protocol.js';

/**
 * Reconnect storm: `sockets` signed-in idle sockets through nginx (the repository's nginx.conf,
 * `hash $remote_addr`: every bench socket comes from 127.0.0.1, so all of them sit on one
 * instance), then that instance is SIGKILLed. The clients reconnect through nginx with
 * socket.io-client's default backoff (1 s doubling to 5 s, randomizationFactor 0.5: the browser
 * client's settings, public/js/chat/connection.js) and nginx passes them to the survivors.
 * Every socket is a member of one of ROOMS rooms and, like the browser client, rejoins it with the
 * last seq it holds once reconnected; a sender per room on a survivor posts every 500 ms from 1 s
 * before the kill until every socket is back, so messages are stored while members are away.
 * Measured: time from the kill to the last socket back, Redis commands per reconnect (INFO
 * commandstats over the storm, the rejoin and background work included, the senders' messages taken
 * out at the rate measured just before the kill), the survivors' event-loop
 * lag p99 over the storm (/metrics, reset by a scrape right before the kill), 5xx answers in nginx's
 * access log and failed attempts seen by the clients, and messages a member never got (live or by
 * catch-up).
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
  /** Messages stored during the storm, and member deliveries due / missing after catch-up. */
  storedDuringStorm: number;
  deliveriesDue: number;
  lost: number;
  /** Rejoins answered `recovered: false`. */
  notRecovered: number;
}

const ROOMS = 10;
/**
 * 2 messages per second per room: a member away for up to 50 s still finds everything it missed in
 * the room's kept history (HISTORY_SIZE, 100 by default); beyond that a rejoin gets the newest page
 * (`recovered: false`, counted) by design, and those messages count as missing.
 */
const SEND_EVERY_MS = 500;

/** One sender per room on a survivor: posts every SEND_EVERY_MS until stopped; the acked seqs per room. */
async function startSenders(url: string, cookie: string, rooms: readonly string[]) {
  const seqs: Record<string, number[]> = {};
  const sockets: Socket[] = [];
  for (const room of rooms) {
    const socket = ioClient(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      extraHeaders: { cookie },
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    await socket.timeout(10_000).emitWithAck('join-room', room);
    sockets.push(socket);
    seqs[room] = [];
  }
  let n = 0;
  const timer = setInterval(() => {
    sockets.forEach((socket, r) => {
      const room = rooms[r] ?? '';
      const text = `storm ${n++}`;
      socket
        .timeout(10_000)
        .emitWithAck('message', { text, clientId: `storm-${r}-${n}` })
        .then((ack: { success?: boolean; message?: { seq?: number } }) => {
          const seq = ack.message?.seq;
          if (ack.success === true && typeof seq === 'number') seqs[room]?.push(seq);
        })
        .catch(() => undefined);
    });
  }, SEND_EVERY_MS);
  return {
    seqs,
    async stop() {
      clearInterval(timer);
      await sleep(1000);
      for (const socket of sockets) socket.close();
    },
  };
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
    notRecovered: a.notRecovered + b.notRecovered,
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
      const rooms = Array.from({ length: ctx.smoke ? 2 : ROOMS }, (_, r) => `storm-${r}`);
      await createRooms(cluster.urls[0] ?? '', cookies[0] ?? '', rooms);
      const specs: ClientSpec[] = Array.from({ length: sockets }, (_, i) => ({
        id: 300_000 + i,
        url: nginx.url,
        instance: -1,
        cookie: cookies[i % sessions],
        username: names[i % sessions] ?? '',
        room: rooms[i % rooms.length],
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
      const senders = await startSenders(survivors[0] ?? '', cookies[0] ?? '', rooms);
      const storedNow = () => Object.values(senders.seqs).reduce((n, list) => n + list.length, 0);
      // The senders' own Redis commands per message (with the background work), to take out of the storm's.
      await sleep(300);
      const [calmCmds, calmStored] = [total(await cluster.commandStats()), storedNow()];
      await sleep(1000);
      const cmds0 = total(await cluster.commandStats());
      const stored0 = storedNow();
      const perMessage = (cmds0 - calmCmds) / Math.max(1, stored0 - calmStored);
      const t0 = nowMs();
      await victim.kill();
      const deadline = t0 + (ctx.smoke ? 30_000 : 60_000);
      // Back: every socket the killed instance held has reconnected (right after the kill, clients
      // may not have noticed it yet and still count as connected).
      const gone = held[target] ?? 0;
      const back = (st: GroupStatus) => st.connected === st.total && st.reconnects >= gone;
      let s = await status(ctx, label);
      while (!back(s) && nowMs() < deadline) {
        await sleep(200);
        s = await status(ctx, label);
      }
      const allBack = back(s);
      const lags = await Promise.all(
        survivors.map(
          async (url) =>
            ((await scrapeMetrics(url, cluster.metricsToken)).get('nodejs_eventloop_lag_p99_seconds') ??
              Number.NaN) * 1000,
        ),
      );
      await sleep(500);
      const cmds1 = total(await cluster.commandStats());
      const stormMessages = storedNow() - stored0;
      await senders.stop();
      // Rejoins (catch-up) may still be answering: poll until nothing is missing or it stops changing.
      let lost = Number.NaN;
      for (const until = nowMs() + (ctx.smoke ? 5000 : 15_000); nowMs() < until;) {
        const gaps = await ctx.pool.all<{ members: number; missing: number }>(
          () => ({ type: 'missing', group: label, expected: senders.seqs }),
          30_000,
        );
        const now = gaps.reduce((n, g) => n + g.missing, 0);
        if (now === 0 || now === lost) {
          lost = now;
          break;
        }
        lost = now;
        await sleep(1000);
      }
      const stored = storedNow();
      const lag = Math.max(...lags);
      const row: StormRow = {
        sockets,
        killedHeld: held[target] ?? 0,
        reconnected: s.reconnects,
        allBackMs: allBack ? s.lastConnectAt - t0 : Number.NaN,
        redisCommandsPerReconnect:
          Math.max(0, cmds1 - cmds0 - perMessage * stormMessages) / Math.max(1, s.reconnects),
        survivorLagP99RawMs: lag,
        survivorLagP99Ms: Math.max(0, lag - LAG_SAMPLING_MS),
        nginx5xx: count5xx(nginx.accessLog),
        clientConnectErrors: s.connectErrors,
        clientErrors: s.errors,
        storedDuringStorm: stored,
        notRecovered: s.notRecovered,
        deliveriesDue: Object.values(senders.seqs).reduce(
          (n, list) => n + list.length * (sockets / rooms.length),
          0,
        ),
        lost,
      };
      ctx.log(
        `    storm ${sockets}: killed instance ${target + 1} holding ${row.killedHeld}; ${s.connected}/${s.total} back` +
          `${allBack ? ` in ${Math.round(row.allBackMs)} ms` : ' (not all)'}, ${row.redisCommandsPerReconnect.toFixed(1)} Redis commands per reconnect, ` +
          `survivors' lag p99 ${lag.toFixed(1)} ms raw, ${stored} messages stored meanwhile, ${lost} member deliveries missing after catch-up (${s.notRecovered} rejoins not recovered), nginx 5xx ${row.nginx5xx}, client errors ${s.connectErrors}${s.errors.length ? ` (${s.errors.join('; ')})` : ''}`,
      );
      return row;
    },
  );
}
