import { randomBytes } from 'node:crypto';
import calculateSlot from 'cluster-key-slot';
import type { Logger } from '../logger.js';
import type { FanoutParts } from '../store/messages.js';
import type { ChatServer } from './events.js';

/**
 * Fan-out from the append script: a chat message's publication to the other instances is sent by
 * the script that stores it (SPUBLISH inside the script), so a message costs the sender's instance
 * one Redis round trip instead of two, Redis one command instead of two, and every instance gets a
 * room's messages in seq order. The sender's instance delivers to its own sockets itself (a local
 * broadcast), as the adapter does after its own publish.
 *
 * The publication is the sharded Redis adapter's own: its channel (`computeChannel`) and its
 * encoding (`encode`, JSON for a text-only packet) of a broadcast whose event argument is a
 * placeholder; the script puts the stored message JSON where the placeholder was. The message
 * shape is socket.io-adapter's cluster protocol (ClusterAdapter: `{ uid, nsp, type: BROADCAST,
 * data: { packet, opts: { rooms, except, flags } } }`, MessageType.BROADCAST = 3) around a
 * Socket.IO EVENT packet (protocol v5: type 2, `data: [event, ...args]`).
 *
 * Used only where the script's SPUBLISH lands where the adapter listens and nothing else must
 * come first: the sharded adapter, and no replica acks (a message is published only once replicas
 * hold it). On a Redis Cluster the channel must hash to the room's slot (events.ts socketRoom gives
 * it the room's hash tag; Redis refuses a script that touches another slot). Room names and
 * usernames hold no braces, so every room's tag is its name; the slot is still checked per message,
 * and a channel that would land elsewhere is published by the adapter.
 */

const BROADCAST = 3;
const EVENT_PACKET = 2;

export interface ScriptFanout {
  /**
   * The publication of `event` to the Socket.IO room `room`, except socket `except` (the sender);
   * undefined when the encoding did not split or, on a Redis Cluster, when the channel is not in
   * the slot of `key` (then the adapter publishes).
   */
  parts(event: string, room: string, except: string, key: string): FanoutParts | undefined;
}

/** What the sharded adapter offers (socket.io redis-adapter 8.3 ShardedRedisAdapter). */
interface EncodingAdapter {
  uid: string;
  computeChannel(message: unknown): string;
  encode(message: unknown): unknown;
}

function isEncodingAdapter(adapter: object): adapter is EncodingAdapter {
  const a = adapter as Partial<Record<keyof EncodingAdapter, unknown>>;
  return (
    typeof a.uid === 'string' && typeof a.computeChannel === 'function' && typeof a.encode === 'function'
  );
}

/**
 * The fan-out for `io`'s default namespace, or undefined when its adapter does not encode as the
 * sharded adapter does (then messages are published by the adapter, after the append). Checks once
 * that a publication splits around the placeholder into exactly two parts.
 */
export function createScriptFanout(io: ChatServer, log: Logger, cluster = false): ScriptFanout | undefined {
  const nsp = io.of('/');
  const adapter = nsp.adapter as object;
  if (!isEncodingAdapter(adapter)) {
    log.info('adapter cannot encode for the append script: messages published after the append');
    return undefined;
  }
  // Random, so no room name or user text can hold it.
  const placeholder = `\u0001fanout-${randomBytes(8).toString('hex')}\u0001`;
  const marker = JSON.stringify(placeholder);
  const parts = (event: string, room: string, except: string, key: string): FanoutParts | undefined => {
    const message = {
      uid: adapter.uid,
      nsp: nsp.name,
      type: BROADCAST,
      data: {
        packet: { type: EVENT_PACKET, data: [event, placeholder], nsp: nsp.name },
        opts: { rooms: [room], except: [except], flags: {} },
      },
    };
    const encoded = adapter.encode(message);
    if (typeof encoded !== 'string') return undefined;
    const split = encoded.split(marker);
    if (split.length !== 2) return undefined;
    const channel = adapter.computeChannel(message);
    if (cluster && calculateSlot(channel) !== calculateSlot(key)) return undefined;
    return { channel, head: split[0] ?? '', tail: split[1] ?? '' };
  };
  if (parts('chat-message', 'room:{probe}', 'probe', '{probe}') === undefined) {
    log.warn('adapter encoding does not split around the message: published after the append');
    return undefined;
  }
  return { parts };
}
