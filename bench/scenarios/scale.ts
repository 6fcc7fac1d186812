import { createClient } from 'redis';
import { io as ioClient, type Socket } from 'socket.io-client';
import { createKeys } from '../../src/redis/keys.js';
import { withCluster, type Ctx } from '../lib/context.js';
import { register } from '../lib/http.js';
import { nowMs } from '../lib/protocol.js';
import { seedRooms, seededRoomName } from '../lib/seed-rooms.js';
import { ratio, round } from '../lib/stats.js';
import { idleRun } from './idle.js';
import { stormRun, type StormRow } from './storm.js';

/**
 * Scale scenario, the room directory: rooms seeded straight into Redis (pipelined) up to each size,
 * then, on one product instance: the bytes a connecting client receives (directory client: its own
 * 10 rooms and the directory's first page; original-protocol client: the bounded `update-rooms`),
 * the bytes each connected socket receives per room creation, and the Redis commands per connect
 * (INFO commandstats, script inner commands included). Flat = largest/smallest size ≤ 1.2×.
 */

/** The bench's instances use this key prefix (lib/cluster.ts). */
const PREFIX = 'bench:';
/** Connects measured per size (averaged). */
const CONNECTS = 5;
/** Creations measured per size, and sockets watching them. */
const CREATIONS = 3;
const WATCHERS = 4;
/** Rooms the measured user has joined: its `mine` list is not empty. */
const MY_ROOMS = 10;

export interface ScaleRow {
  rooms: number;
  /** Bytes of Socket.IO event packets from the handshake to the connect push, per connect. */
  connectBytes: number;
  legacyConnectBytes: number;
  /** Bytes each connected socket receives per room creation. */
  creationBytes: number;
  legacyCreationBytes: number;
  /** Redis commands per connect (all of the instance's commands in that window, inner script commands included). */
  commandsPerConnect: number;
  /** Milliseconds to seed the rooms added for this size. */
  seedMs: number;
}

/** Idle signed-in sockets over 3 instances at one size, product against the baseline relay. */
export interface ConnectionsRow {
  sockets: number;
  perInstance: number;
  connected: number;
  baselineConnected: number;
  rssPerConnKb: number;
  baselineRssPerConnKb: number;
  /** Instance CPU per connect (ms). */
  cpuMsPerConnect: number;
  baselineCpuMsPerConnect: number;
  /** Instance CPU while idle, ms per second per 1000 sockets (one ping interval at full size). */
  idleCpuMsPerSPer1k: number;
  baselineIdleCpuMsPerSPer1k: number;
}

export interface ScaleResult {
  rows: ScaleRow[];
  connections: ConnectionsRow[];
  storms: StormRow[];
  /** Largest / smallest size, product: RSS per connection, idle CPU per 1000 sockets, connect CPU. */
  rssRatio: number;
  idleCpuRatio: number;
  connectCpuRatio: number;
  /** Largest / smallest storm: Redis commands per reconnect. */
  reconnectCommandsRatio: number;
  /** Largest size / smallest size. */
  connectRatio: number;
  creationRatio: number;
  commandsRatio: number;
}

/** Sums the bytes of event packets (Socket.IO type 2) a socket receives, as sent on the wire. */
function meter(socket: Socket): { bytes: number } {
  const m = { bytes: 0 };
  const count = (packet: { type: string; data?: unknown }) => {
    if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.startsWith('2'))
      m.bytes += Buffer.byteLength(packet.data) + 1;
  };
  socket.io.on('open', () => socket.io.engine.on('packet', count));
  return m;
}

/** Opens a socket and waits for its connect push; returns it with its byte meter. */
async function open(url: string, cookie: string, directory: boolean) {
  const socket = ioClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: { cookie },
    ...(directory ? { auth: { directory: true } } : {}),
  });
  const m = meter(socket);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no connect push within 10 s')), 10_000);
    socket.once(directory ? 'rooms-home' : 'update-rooms', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  await flush(socket);
  return { socket, meter: m };
}

/** One round trip: every packet sent before the answer has arrived. */
async function flush(socket: Socket): Promise<void> {
  await socket.timeout(10_000).emitWithAck('leave-room');
}

const total = (stats: Map<string, number>) => [...stats.values()].reduce((a, b) => a + b, 0);

/**
 * Connections at size: sockets over 3 instances (1,000 and 10,000 per instance; smoke 10 and 30).
 * 10,000 per instance is the most this machine allows: the hard limit of open files per process
 * is 20,000 (no CAP_SYS_RESOURCE to raise it), and an instance, or a load generator, needs one per socket.
 */
const CONNECTION_SIZES = [3_000, 30_000];
const SMOKE_CONNECTION_SIZES = [30, 90];
/**
 * Storm sizes: all through nginx, whose `worker_connections 4096` (2 workers here, two connections
 * per proxied socket) bounds them.
 */
const STORM_SIZES = [500, 2_500];
const SMOKE_STORM_SIZES = [20, 60];

async function connectionRows(ctx: Ctx): Promise<ConnectionsRow[]> {
  const rows: ConnectionsRow[] = [];
  for (const sockets of ctx.smoke ? SMOKE_CONNECTION_SIZES : CONNECTION_SIZES) {
    const opts = { socketsPerSession: 50 };
    const p = await idleRun(ctx, 'product', sockets, { ...opts, label: `conns-product-${sockets}` });
    const b = await idleRun(ctx, 'baseline', sockets, { ...opts, label: `conns-baseline-${sockets}` });
    rows.push({
      sockets,
      perInstance: Math.round(sockets / 3),
      connected: p.connected,
      baselineConnected: b.connected,
      rssPerConnKb: round(p.rssPerConnKb, 2),
      baselineRssPerConnKb: round(b.rssPerConnKb, 2),
      cpuMsPerConnect: round(p.cpuMsPerConnect, 3),
      baselineCpuMsPerConnect: round(b.cpuMsPerConnect, 3),
      idleCpuMsPerSPer1k: round(p.idleCpuMsPerSPer1k, 3),
      baselineIdleCpuMsPerSPer1k: round(b.idleCpuMsPerSPer1k, 3),
    });
  }
  return rows;
}

export async function scale(ctx: Ctx): Promise<ScaleResult> {
  const rooms = await roomRows(ctx);
  const connections = await connectionRows(ctx);
  const storms: StormRow[] = [];
  for (const sockets of ctx.smoke ? SMOKE_STORM_SIZES : STORM_SIZES)
    storms.push(await stormRun(ctx, sockets));
  const edge = <T>(list: T[], pick: (t: T) => number) =>
    round(ratio(pick(list.at(-1) as T), pick(list[0] as T)), 3);
  return {
    ...rooms,
    connections,
    storms,
    rssRatio: edge(connections, (r) => r.rssPerConnKb),
    idleCpuRatio: edge(connections, (r) => r.idleCpuMsPerSPer1k),
    connectCpuRatio: edge(connections, (r) => r.cpuMsPerConnect),
    reconnectCommandsRatio: edge(storms, (r) => r.redisCommandsPerReconnect),
  };
}

type RoomFigures = Pick<ScaleResult, 'rows' | 'connectRatio' | 'creationRatio' | 'commandsRatio'>;

async function roomRows(ctx: Ctx): Promise<RoomFigures> {
  const sizes = ctx.smoke ? [10, 100] : [100, 1_000, 10_000, 100_000];
  return withCluster(
    ctx,
    { kind: 'product', label: 'scale', instances: 1, env: { BCRYPT_ROUNDS: '10' } },
    async (cluster) => {
      const url = cluster.urls[0] ?? '';
      const redis = createClient({ url: cluster.redis.url, name: 'bench-seed' });
      await redis.connect();
      const keys = createKeys(PREFIX);
      const [reader, creator] = [
        await register(url, `scale-reader-${Date.now() % 1e6}`),
        await register(url, `scale-maker-${Date.now() % 1e6}`),
      ];
      const rows: ScaleRow[] = [];
      let seeded = 0;
      try {
        for (const size of sizes) {
          const t0 = nowMs();
          await seedRooms(redis, keys, size - seeded, seeded);
          seeded = size;
          const seedMs = Math.round(nowMs() - t0);
          if (rows.length === 0) {
            const { socket } = await open(url, reader, true);
            for (let i = 0; i < Math.min(MY_ROOMS, size); i++)
              await socket.timeout(10_000).emitWithAck('join-room', seededRoomName(i));
            socket.close();
          }

          // Connects, one at a time (the first one after seeding also reloads the directory snapshot).
          let connectBytes = 0;
          let legacyConnectBytes = 0;
          const before = total(await cluster.commandStats());
          for (let i = 0; i < CONNECTS; i++) {
            const c = await open(url, reader, true);
            connectBytes += c.meter.bytes;
            c.socket.close();
          }
          const commandsPerConnect = (total(await cluster.commandStats()) - before) / CONNECTS;
          for (let i = 0; i < CONNECTS; i++) {
            const c = await open(url, reader, false);
            legacyConnectBytes += c.meter.bytes;
            c.socket.close();
          }

          // Creations seen by connected sockets of both kinds.
          const watchers = await Promise.all(Array.from({ length: WATCHERS }, () => open(url, reader, true)));
          const legacy = await open(url, reader, false);
          const maker = await open(url, creator, true);
          for (const w of [...watchers, legacy]) w.meter.bytes = 0;
          for (let i = 0; i < CREATIONS; i++) {
            const name = `Scale ${size} ${i} ${Math.random().toString(36).slice(2, 6)}`;
            const seen = watchers.map(
              (w) =>
                new Promise<void>((resolve) =>
                  w.socket.on('room-created', (room: { name?: string }) => {
                    if (room.name === name) resolve();
                  }),
                ),
            );
            const ack = (await maker.socket.timeout(10_000).emitWithAck('create-room', name)) as {
              success?: boolean;
              code?: string;
            };
            if (ack.success !== true) throw new Error(`create-room: ${ack.code ?? '?'}`);
            await Promise.all(seen);
          }
          await Promise.all([...watchers, legacy].map((w) => flush(w.socket)));
          const creationBytes = watchers.reduce((s, w) => s + w.meter.bytes, 0) / WATCHERS / CREATIONS;
          const legacyCreationBytes = legacy.meter.bytes / CREATIONS;
          for (const w of [...watchers, legacy, maker]) w.socket.close();

          const row: ScaleRow = {
            rooms: size,
            connectBytes: Math.round(connectBytes / CONNECTS),
            legacyConnectBytes: Math.round(legacyConnectBytes / CONNECTS),
            creationBytes: Math.round(creationBytes),
            legacyCreationBytes: Math.round(legacyCreationBytes),
            commandsPerConnect: round(commandsPerConnect, 1),
            seedMs,
          };
          rows.push(row);
          ctx.log(
            `    ${size} rooms: connect ${row.connectBytes} B (original protocol ${row.legacyConnectBytes} B), per creation ${row.creationBytes} B per socket (original ${row.legacyCreationBytes} B), ${row.commandsPerConnect} Redis commands per connect; seeded in ${seedMs} ms`,
          );
        }
      } finally {
        await redis.close().catch(() => undefined);
      }
      const first = rows[0];
      const last = rows.at(-1);
      return {
        rows,
        connectRatio: round(ratio(last?.connectBytes, first?.connectBytes), 3),
        creationRatio: round(ratio(last?.creationBytes, first?.creationBytes), 3),
        commandsRatio: round(ratio(last?.commandsPerConnect, first?.commandsPerConnect), 3),
      };
    },
  );
}
