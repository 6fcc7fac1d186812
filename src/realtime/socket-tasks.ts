import { AppError, toFailBody, type FailBody } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ChatSocket } from './events.js';

type Ack = (body: unknown) => void;
/** A chat event's work for one socket: resolves to the ack's fields, or throws an AppError. */
export type Handler = (socket: ChatSocket, args: unknown[]) => Promise<object | void>;

/** Pending events per socket beyond which new ones are refused at once (a flood, not a person). */
const MAX_PENDING = 64;

const queues = new WeakMap<ChatSocket, { tail: Promise<void>; pending: number }>();

/**
 * A Socket.IO room change not awaited by its caller (`socket.join`/`socket.leave`). With the
 * sharded adapter's dynamic subscriptions the first join or last leave of a room (un)subscribes its
 * channel in Redis, which rejects while Redis is away or when the client is closed with the command
 * pending: logged at debug level, never an unhandled rejection (which ends a process).
 */
export function roomChange(result: Promise<void> | void, log: Logger, room: string): void {
  if (result instanceof Promise) {
    result.catch((err: unknown) => log.debug({ err, room }, 'socket room change failed in the adapter'));
  }
}

/**
 * Runs a socket's tasks one after another, in the order its events arrived: a `join-room` emitted
 * right after connecting is handled after the connection's own setup, and a `message` after it
 * lands in the room just joined.
 */
export function enqueue(socket: ChatSocket, task: () => Promise<void>): boolean {
  const q = queues.get(socket) ?? { tail: Promise.resolve(), pending: 0 };
  queues.set(socket, q);
  if (q.pending >= MAX_PENDING) return false;
  q.pending++;
  q.tail = q.tail.then(task).finally(() => {
    // An idle socket keeps no queue.
    if (--q.pending === 0 && queues.get(socket) === q) queues.delete(socket);
  });
  return true;
}

/** Splits a trailing ack callback off the arguments; a non-function last argument is data. */
function splitAck(args: unknown[]): [unknown[], Ack | undefined] {
  const last = args.at(-1);
  if (typeof last === 'function') return [args.slice(0, -1), last as Ack];
  return [args, undefined];
}

/**
 * A listener for `event` that validates, never throws, and always answers its ack:
 * `{success:true, …result}` or `{success:false, error, code}`. Shared by all sockets (`this`).
 */
export function listener(
  event: string,
  handler: Handler,
  deps: { log: Logger; metrics: Metrics },
): (...raw: unknown[]) => void {
  return function (this: ChatSocket, ...raw: unknown[]) {
    const [args, ack] = splitAck(raw);
    const answer = (body: FailBody | object, code: string) => {
      deps.metrics.ack(event, code);
      if (ack) ack(body);
    };
    const accepted = enqueue(this, async () => {
      try {
        const result = await handler(this, args);
        answer({ success: true, ...(result ?? {}) }, 'ok');
      } catch (err) {
        const body = toFailBody(err);
        if (body.code === 'internal')
          deps.log.error({ err, event, user: this.data.user }, 'socket handler failed');
        else deps.log.debug({ event, user: this.data.user, code: body.code }, 'socket event refused');
        answer(body, body.code);
      }
    });
    if (!accepted)
      answer(
        toFailBody(new AppError('rate_limited', 'Too many requests in flight; slow down.', 1000)),
        'rate_limited',
      );
  };
}
