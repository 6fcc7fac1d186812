// BASELINE for `npm run bench`: the smallest Socket.IO + Redis-adapter relay that does what a chat
// room needs and nothing else. Join a room on `join-room`, relay `message` to the room with the
// sender and a timestamp, ack. No auth, no persistence, no validation, no presence, no metrics.
// The product's figures are reported as ratios against this one, measured in the same run on an
// identical cluster. Plain JavaScript on purpose: no build step, nothing loaded that the relay
// does not need.
//
// Two setups (env SETUP):
// - `default` (the bench's primary baseline): what a user following the adapter's README gets, the
//   classic `createAdapter(pubClient, subClient)` with a plain `createClient({ url })` and its
//   `duplicate()`, no options: every instance PSUBSCRIBEs to every room's broadcasts, and node-redis
//   keeps its default per-command timeout.
// - `matched` (the second column): the adapter the product picks (sharded with dynamic subscriptions
//   on Redis >= 7, ADAPTER=auto|sharded|classic) and its Redis client settings (no per-command timeout).
// env: PORT, HOST (default 127.0.0.1), REDIS_URL, SETUP=default|matched, ADAPTER (matched only).
// GET /readyz answers 200 once the adapter is set up.
import http from 'node:http';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { Server } from 'socket.io';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const setup = process.env.SETUP ?? 'default';
if (setup !== 'default' && setup !== 'matched') throw new Error(`SETUP: default or matched, got ${setup}`);
const wanted = setup === 'default' ? 'classic' : (process.env.ADAPTER ?? 'auto');

// In the default setup node-redis gives every command a 5 s timeout; under overload (commands queued
// longer than that) it rejects the adapter's PUBLISH, which the adapter does not await: an unhandled
// rejection, which ends a Node process. Counted and logged instead, so an overloaded step measures
// the relay rather than killing it.
let unhandled = 0;
process.on('unhandledRejection', (err) => {
  if (unhandled++ % 1000 === 0)
    process.stderr.write(
      `unhandled rejection #${unhandled}: ${err instanceof Error ? err.name : String(err)}\n`,
    );
});

const pub = createClient(
  setup === 'default' ? { url: redisUrl } : { url: redisUrl, commandOptions: { timeout: 0 } },
);
const sub = pub.duplicate();
for (const client of [pub, sub]) client.on('error', (err) => process.stderr.write(`redis: ${err.message}\n`));
await Promise.all([pub.connect(), sub.connect()]);

const major = Number(/redis_version:(\d+)/.exec(await pub.info('server'))?.[1] ?? 0);
const adapter = wanted === 'auto' ? (major >= 7 ? 'sharded' : 'classic') : wanted;

let ready = false;
const httpServer = http.createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/readyz') {
    res.writeHead(ready || req.url === '/healthz' ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: ready, adapter, setup }));
    return;
  }
  // Socket.IO answers its own path before this listener runs; anything else is unknown here.
  if (!req.url?.startsWith('/socket.io/')) {
    res.writeHead(404);
    res.end();
  }
});

// The product's engine options that are not defaults, so both speak the same protocol the same way.
const io = new Server(httpServer, {
  pingInterval: 25_000,
  pingTimeout: 20_000,
  maxHttpBufferSize: 32 * 1024,
});
io.adapter(
  setup === 'default'
    ? createAdapter(pub, sub)
    : adapter === 'sharded'
      ? createShardedAdapter(pub, sub, { subscriptionMode: 'dynamic' })
      : createAdapter(pub, sub, { requestsTimeout: 5_000 }),
);

io.on('connection', (socket) => {
  const sender = String(socket.handshake.auth?.username ?? 'anonymous');
  let room = null;

  socket.on('join-room', async (name, ack) => {
    const next = typeof name === 'string' ? name : String(name?.room ?? '');
    if (room !== null && room !== next) await socket.leave(room);
    await socket.join(next);
    room = next;
    if (typeof ack === 'function') ack({ success: true, room: next });
  });

  socket.on('message', (payload, ack) => {
    if (room === null) {
      if (typeof ack === 'function') ack({ success: false, code: 'not_in_room' });
      return;
    }
    const message = { ...payload, sender, timestamp: new Date().toISOString() };
    socket.to(room).emit('chat-message', message);
    if (typeof ack === 'function') ack({ success: true, message });
  });
});

httpServer.listen(port, host, () => {
  ready = true;
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  ready = false;
  io.close(() => {
    Promise.allSettled([pub.close(), sub.close()]).then(() => process.exit(0));
  });
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
