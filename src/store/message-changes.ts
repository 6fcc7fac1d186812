import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { MENTIONS_KEPT_MAX, mentionsIn, MY_ROOMS_MAX, type Message, type UnreadRoom } from '../protocol.js';
import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { decodeReply, LuaScript } from '../redis/script.js';
import { EPOCH_LUA, storedMessage } from './messages.js';

/**
 * The life of a message after it is sent (issue 14): edits and deletions stored in place in the
 * room's history list, read markers per user and room, and mentions per user and room.
 */

/**
 * One edit or deletion in one step, in the room's slot. The message is found by seq (index
 * latest - seq in the newest-first list, as in store/messages.ts RANGE), checked, rewritten in place
 * (LSET) with its fields in the stored order (id and seq first: the epoch check reads the head
 * message's seq from its text), and its seq recorded in the room's changes set with the room's
 * latest seq as score (catch-up reads it), capped at HISTORY_SIZE.
 * Rules: an edit only by the sender, a deletion by the sender or a privileged user (room owner,
 * operator; ARGV[5] = '1'); the sender only while the message is younger than the edit window
 * (timestamp >= cutoff, both ISO 8601 from toISOString, so they compare as strings). A retry finds
 * the final state already there and answers it (`same`): idempotent.
 * KEYS: messages, seq, epoch, changes. ARGV: fresh epoch, mode (edit | delete), seq, actor (lower
 * case), privileged (1/0), cutoff ISO, new text, editedAt ISO, cap.
 * Returns {status, message JSON}: status changed | same | not_found | forbidden | window.
 */
const CHANGE = new LuaScript(
  'message-change',
  `${EPOCH_LUA}
local function encode(m)
  local parts = {'"id":' .. cjson.encode(m.id), '"seq":' .. string.format('%d', m.seq)}
  if m.epoch then parts[#parts + 1] = '"epoch":' .. cjson.encode(m.epoch) end
  for _, k in ipairs({'roomId', 'text', 'sender', 'timestamp', 'clientId', 'editedAt'}) do
    if m[k] ~= nil then parts[#parts + 1] = '"' .. k .. '":' .. cjson.encode(m[k]) end
  end
  if m.deleted then parts[#parts + 1] = '"deleted":true' end
  return '{' .. table.concat(parts, ',') .. '}'
end
local _, latest = room_epoch(ARGV[1])
local seq = tonumber(ARGV[3])
local oldest = latest - redis.call('LLEN', KEYS[1]) + 1
if seq > latest or seq < oldest then return {'not_found', ''} end
local raw = redis.call('LINDEX', KEYS[1], latest - seq)
if not raw then return {'not_found', ''} end
local ok, m = pcall(cjson.decode, raw)
if not ok or type(m) ~= 'table' or tonumber(m.seq) ~= seq or type(m.sender) ~= 'string' then
  return {'not_found', ''}
end
local own = string.lower(m.sender) == ARGV[4]
local privileged = ARGV[5] == '1'
local young = type(m.timestamp) == 'string' and m.timestamp >= ARGV[6]
if ARGV[2] == 'edit' then
  if not own then return {'forbidden', ''} end
  if m.deleted then return {'not_found', ''} end
  if m.text == ARGV[7] and m.editedAt then return {'same', raw} end
  if not young then return {'window', ''} end
  if m.text == ARGV[7] then return {'same', raw} end
  m.text = ARGV[7]
  m.editedAt = ARGV[8]
else
  if not own and not privileged then return {'forbidden', ''} end
  if m.deleted then return {'same', raw} end
  if not privileged and not young then return {'window', ''} end
  m.text = ''
  m.editedAt = nil
  m.deleted = true
end
local out = encode(m)
redis.call('LSET', KEYS[1], latest - seq, out)
redis.call('ZADD', KEYS[4], latest, seq)
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -(tonumber(ARGV[9]) + 1))
return {'changed', out}
`,
  z.tuple([z.enum(['changed', 'same', 'not_found', 'forbidden', 'window']), z.string()]),
);

/**
 * Records one message's seq in the mention sets of the users it names (all in the room's slot),
 * each capped at its newest ARGV[2], and the users in the room's index of mentioned users (so a
 * deleted room's mention sets can be found and dropped). KEYS: roomMentioned(room),
 * roomMentions(room, user)…. ARGV: seq, cap, then the users in KEYS' order. Returns the count.
 */
const MENTION = new LuaScript(
  'mention-record',
  `
for i = 2, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(tonumber(ARGV[2]) + 1))
  redis.call('SADD', KEYS[1], ARGV[i + 1])
end
return #KEYS - 1
`,
  z.number().int().min(0),
);

/**
 * Moves a read marker forward only. KEYS: userReads(user). ARGV: room, seq.
 * Returns {readSeq now stored, 1 when it moved}.
 */
const MARK_READ = new LuaScript(
  'mark-read',
  `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') or 0
local n = tonumber(ARGV[2])
if n > cur then
  redis.call('HSET', KEYS[1], ARGV[1], n)
  return {n, 1}
end
return {cur, 0}
`,
  z.tuple([z.number().int().min(0), z.union([z.literal(0), z.literal(1)])]),
);

export type ChangeMode = 'edit' | 'delete';

export interface ChangeResult {
  /** The message's final state (for a deletion, the tombstone). */
  message: Message;
  /** False when the message already was in that state (a retry): nothing stored, nothing to tell. */
  changed: boolean;
}

export type MessageChangeStore = ReturnType<typeof createMessageChangeStore>;

/**
 * Edits, deletions, mentions and read markers over Redis. `historySize` caps the changes set
 * (HISTORY_SIZE: older changes concern messages the list no longer keeps).
 */
export function createMessageChangeStore(redis: RedisClient, keys: Keys, opts: { historySize: number }) {
  return {
    /**
     * Edits (`text` given) or deletes the message `seq` of `room` for `actor`. `privileged`: the
     * actor owns the room or is an operator (deletions only). `cutoff`: messages older than this
     * instant are out of the sender's edit window.
     * Errors: `not_found` (no such seq kept, or editing a deleted message), `forbidden` (not the
     * sender, nor privileged for a deletion), `edit_window_passed`.
     */
    async change(
      room: string,
      seq: number,
      actor: string,
      change: { mode: 'edit'; text: string } | { mode: 'delete'; privileged: boolean },
      cutoff: Date,
    ): Promise<ChangeResult> {
      const [status, raw] = await CHANGE.run(
        redis,
        [keys.roomMessages(room), keys.roomSeq(room), keys.roomEpoch(room), keys.roomChanges(room)],
        [
          randomBytes(6).toString('hex'),
          change.mode,
          String(seq),
          actor.toLowerCase(),
          change.mode === 'delete' && change.privileged ? '1' : '0',
          cutoff.toISOString(),
          change.mode === 'edit' ? change.text : '',
          new Date().toISOString(),
          String(opts.historySize),
        ],
      );
      switch (status) {
        case 'not_found':
          throw new AppError(
            'not_found',
            `No message ${seq} to change in "${room}" (deleted or no longer kept).`,
          );
        case 'forbidden':
          throw new AppError(
            'forbidden',
            change.mode === 'edit'
              ? 'Only the sender may edit a message.'
              : 'Only the sender, the room owner or an operator may delete a message.',
          );
        case 'window':
          throw new AppError('edit_window_passed', 'The time to edit or delete this message has passed.');
        default:
          return {
            message: decodeReply('message-change', storedMessage, raw),
            changed: status === 'changed',
          };
      }
    },

    /**
     * Records that message `seq` of `room` mentions `users` (lower-cased existing usernames, at
     * most MENTIONS_PER_MESSAGE_MAX). One script in the room's slot; nothing when `users` is empty.
     */
    async recordMentions(room: string, seq: number, users: readonly string[]): Promise<void> {
      if (users.length === 0) return;
      const names = users.map((u) => u.toLowerCase());
      await MENTION.run(
        redis,
        [keys.roomMentioned(room), ...names.map((u) => keys.roomMentions(room, u))],
        [String(seq), String(MENTIONS_KEPT_MAX), ...names],
      );
    },

    /**
     * Takes message `seq` of `room` out of the mention sets of the users the room's index of
     * mentioned users names: a tombstone mentions nobody, an edited text only whom it names now
     * (recorded again after this). Idempotent (run again on a retry).
     */
    async dropMentions(room: string, seq: number): Promise<void> {
      const mentioned = await redis.sMembers(keys.roomMentioned(room));
      await Promise.all(mentioned.map((u) => redis.zRem(keys.roomMentions(room, u), String(seq))));
    },

    /**
     * Moves `user`'s read marker of `room` to `seq` unless it already is there or beyond. The user
     * is first recorded among the room's readers, so deleting the room clears the marker (forgetRoom).
     */
    async markRead(user: string, room: string, seq: number): Promise<{ readSeq: number; moved: boolean }> {
      if (seq > 0) await redis.sAdd(keys.roomReaders(room), user.toLowerCase());
      const [readSeq, moved] = await MARK_READ.run(redis, [keys.userReads(user)], [room, String(seq)]);
      return { readSeq, moved: moved === 1 };
    },

    /**
     * Drops what a deleted room left per user and per message: its readers' read markers, its
     * mention sets and its changes set. A new room of the same name starts at seq 1, where an old
     * marker would hide its first messages and old mentions would count as new. Markers and mentions
     * stored before the readers/mentioned indexes existed are not found.
     */
    async forgetRoom(room: string): Promise<void> {
      const [readers, mentioned] = await Promise.all([
        redis.sMembers(keys.roomReaders(room)),
        redis.sMembers(keys.roomMentioned(room)),
      ]);
      await Promise.all([
        ...readers.map((u) => redis.hDel(keys.userReads(u), room)),
        redis.del([
          keys.roomReaders(room),
          keys.roomMentioned(room),
          keys.roomChanges(room),
          ...mentioned.map((u) => keys.roomMentions(room, u)),
        ]),
      ]);
    },

    /**
     * Unread state of `rooms` for `user`: read seq (0 when never read), latest seq, unread =
     * max(0, latest - read), mentions of the user above the read seq. One HMGET, then one GET and
     * one ZCOUNT per room, sent together.
     */
    async unread(user: string, rooms: readonly string[]): Promise<UnreadRoom[]> {
      if (rooms.length === 0) return [];
      const reads = await redis.hmGet(keys.userReads(user), [...rooms]);
      const readSeqs = rooms.map((_, i) => Number(reads[i] ?? 0) || 0);
      const [latest, mentions] = await Promise.all([
        Promise.all(rooms.map((room) => redis.get(keys.roomSeq(room)))),
        Promise.all(
          rooms.map((room, i) => redis.zCount(keys.roomMentions(room, user), `(${readSeqs[i] ?? 0}`, '+inf')),
        ),
      ]);
      return rooms.map((room, i) => {
        const readSeq = readSeqs[i] ?? 0;
        const latestSeq = Number(latest[i] ?? 0) || 0;
        return {
          room,
          readSeq,
          latestSeq,
          unread: Math.max(0, latestSeq - readSeq),
          mentions: Number(mentions[i] ?? 0),
        };
      });
    },

    /** The user's own rooms (rooms-home `mine`), most recent first, at most MY_ROOMS_MAX. */
    async ownRooms(user: string): Promise<string[]> {
      return redis.zRange(keys.userRooms(user), 0, MY_ROOMS_MAX - 1, { REV: true });
    },
  };
}

/** The `@username` tokens of `text` (see protocol.ts mentionsIn); empty without any '@' at no cost. */
export function mentionCandidates(text: string): string[] {
  return text.includes('@') ? mentionsIn(text) : [];
}
