import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { z } from 'zod';
import { chatMessageSchema, type Message } from '../protocol.js';
import { decodeReply, LuaScript } from '../redis/script.js';

export type { Message };

/** A message as the list stores it: its JSON, checked against the protocol's Message on the way out. */
const storedMessage = z
  .string()
  .transform((raw, ctx) => {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'stored message is not JSON' });
      return z.NEVER;
    }
  })
  .pipe(chatMessageSchema);

/**
 * Append, sequence, trim and remember the clientId in one round trip. The message JSON arrives
 * split around its `seq` so the script only splices the number in; a repeat of a stored clientId
 * returns the stored message instead of writing a second one.
 */
const APPEND = new LuaScript(
  'append',
  `
if ARGV[5] == '1' then
  local prev = redis.call('GET', KEYS[3])
  if prev then return {0, prev} end
end
local seq = redis.call('INCR', KEYS[2])
local msg = ARGV[1] .. seq .. ARGV[2]
redis.call('LPUSH', KEYS[1], msg)
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
if ARGV[5] == '1' then redis.call('SET', KEYS[3], msg, 'EX', ARGV[4]) end
return {seq, msg}
`,
  /** {seq, message JSON}; seq 0 marks a repeat and carries the stored message. */
  z.tuple([z.number().int().min(0), z.string()]),
);

/**
 * A window of the newest-first list by sequence: seq s sits at index latest - s, because every
 * append bumps the counter and pushes in the same script. Returns {latest, length, items}.
 */
const RANGE = new LuaScript(
  'range',
  `
local latest = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local hi = latest
local before = tonumber(ARGV[2])
if before > 0 and before - 1 < hi then hi = before - 1 end
local lo = hi - tonumber(ARGV[3]) + 1
local after = tonumber(ARGV[1])
if after >= 0 and after + 1 > lo then lo = after + 1 end
if lo < 1 then lo = 1 end
local items = {}
if hi >= lo then items = redis.call('LRANGE', KEYS[1], latest - hi, latest - lo) end
return {latest, len, items}
`,
  z.tuple([z.number().int().min(0), z.number().int().min(0), z.array(storedMessage)]),
);

export interface HistoryPage {
  /** Newest first. */
  messages: Message[];
  latestSeq: number;
  /** Messages Redis still keeps for the room. */
  kept: number;
}

export interface CatchUp extends HistoryPage {
  /** False when more was written since `since` than Redis keeps: the client got the newest page instead. */
  recovered: boolean;
}

export interface AppendResult {
  message: Message;
  duplicate: boolean;
}

export type MessageStore = ReturnType<typeof createMessageStore>;

export function createMessageStore(
  redis: RedisClient,
  keys: Keys,
  opts: { historySize: number; historyOnJoin: number; dedupeWindowS: number },
) {
  async function range(room: string, after: number, before: number, limit: number): Promise<HistoryPage> {
    const [latestSeq, kept, messages] = await RANGE.run(
      redis,
      [keys.roomMessages(room), keys.roomSeq(room)],
      [String(after), String(before), String(limit)],
    );
    return { latestSeq, kept, messages };
  }

  return {
    async append(room: string, sender: string, text: string, clientId?: string): Promise<AppendResult> {
      const id = randomUUID();
      const timestamp = new Date().toISOString();
      const rest = JSON.stringify(
        clientId
          ? { roomId: room, text, sender, timestamp, clientId }
          : { roomId: room, text, sender, timestamp },
      );
      const head = `{"id":${JSON.stringify(id)},"seq":`;
      const tail = `,${rest.slice(1)}`;
      const dedupeKey = clientId
        ? keys.roomDedupe(room, sender.toLowerCase(), clientId)
        : keys.roomDedupe(room, '', '');
      const [seq, stored] = await APPEND.run(
        redis,
        [keys.roomMessages(room), keys.roomSeq(room), dedupeKey],
        [head, tail, String(opts.historySize), String(opts.dedupeWindowS), clientId ? '1' : '0'],
      );
      if (seq === 0) return { message: decodeReply('append', storedMessage, stored), duplicate: true };
      const message: Message = { id, seq, roomId: room, text, sender, timestamp };
      if (clientId) message.clientId = clientId;
      return { message, duplicate: false };
    },

    /** The newest `limit` messages older than `before` (all when before is undefined). */
    page(room: string, before: number | undefined, limit: number): Promise<HistoryPage> {
      return range(room, -1, before ?? 0, limit);
    },

    /** What a join sends: the newest HISTORY_ON_JOIN, or with `since` everything after it when still kept. */
    async catchUp(room: string, since: number | undefined): Promise<CatchUp> {
      if (since === undefined) return { ...(await range(room, -1, 0, opts.historyOnJoin)), recovered: true };
      const missed = await range(room, since, 0, opts.historySize);
      const oldestKept = missed.latestSeq - missed.kept + 1;
      if (since <= missed.latestSeq && since + 1 >= oldestKept) return { ...missed, recovered: true };
      return { ...(await range(room, -1, 0, opts.historyOnJoin)), recovered: false };
    },

    /**
     * Latest sequence per room: one GET per room, sent together (the client pipelines them per
     * connection; on a cluster each goes to its room's master, no pipeline crosses slots).
     */
    async latestSeqs(rooms: readonly string[]): Promise<Map<string, number>> {
      const replies = await Promise.all(rooms.map((room) => redis.get(keys.roomSeq(room))));
      return new Map(rooms.map((room, i) => [room, Number(replies[i] ?? 0)]));
    },
  };
}
