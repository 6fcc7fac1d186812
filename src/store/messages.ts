import { randomBytes, randomUUID } from 'node:crypto';
import type { DurableWrites, RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { z } from 'zod';
import { chatMessageSchema, type Message } from '../protocol.js';
import { decodeReply, LuaScript } from '../redis/script.js';
import { AppError } from '../errors.js';

export type { Message };

/** A message as the list stores it: its JSON, checked against the protocol's Message on the way out. */
export const storedMessage = z
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

/** Epochs before the current one a catch-up can still continue from (repeated restarts, bogus `since`s). */
const EPOCH_CHAIN_MAX = 8;

/**
 * The room sequence's epoch, shared by every script below (KEYS[1] list, KEYS[2] counter, KEYS[3]
 * epoch hash; `fresh` a new random epoch id from the caller). Redis can lose its last writes (a crash
 * with AOF `everysec`, a failover to a replica that lagged): the counter then restarts below seqs
 * clients already hold. Which facts survive such a loss decides the design:
 * - the primary's replication id (`master_replid`, INFO replication) is new on every restart and
 *   every promotion of a replica, and only then can writes be lost; the epoch hash records the id
 *   that vouches for the counter, so the first script to touch a room under another primary process
 *   starts a new epoch, deterministically (INFO replication costs ~3 µs of Redis time per script;
 *   INFO server's run id would cost ~10);
 * - the epoch hash sits beside the counter in the same slot and is written by the same scripts, so a
 *   loss rolls both back together: its `chain` lists the last epochs with the counter at which each
 *   ended, so a client of an old epoch is continued when it holds no seq beyond the lowest of those
 *   counters since its epoch (nothing it holds was lost, as after a clean restart);
 * - the newest stored message carries its seq: a counter below it (lost or evicted on its own) is
 *   raised to it and a new epoch starts, so a seq is never handed out twice (checked whenever the
 *   counter reads 0 or the primary changed: a missing counter reads 0).
 * A clean restart also starts an epoch (nothing tells it from a crash); it costs clients nothing,
 * since every seq they hold is at most the counter at the change.
 */
export const EPOCH_LUA = `
local CHAIN_MAX = ${EPOCH_CHAIN_MAX}
local function start_epoch(fresh, old, base, boot)
  local chain = {}
  if old then chain[1] = old .. ':' .. base end
  for entry in string.gmatch(redis.call('HGET', KEYS[3], 'chain') or '', '[^,]+') do
    if #chain >= CHAIN_MAX then break end
    chain[#chain + 1] = entry
  end
  redis.call('HSET', KEYS[3], 'id', fresh, 'boot', boot, 'chain', table.concat(chain, ','))
  return fresh
end
local function room_epoch(fresh)
  local boot = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)') or ''
  local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
  local e = redis.call('HMGET', KEYS[3], 'id', 'boot')
  local same = e[1] and e[2] == boot
  if same and seq > 0 then return e[1], seq, boot end
  local head = redis.call('LINDEX', KEYS[1], 0)
  local top = head and tonumber(string.match(head, '^{"id":"[^"]*","seq":(%d+)')) or 0
  if same and top <= seq then return e[1], seq, boot end
  if top > seq then
    seq = top
    redis.call('SET', KEYS[2], seq)
  end
  return start_epoch(fresh, e[1], seq, boot), seq, boot
end
local function continued_from(theirs, since)
  local low
  for id, base in string.gmatch(redis.call('HGET', KEYS[3], 'chain') or '', '([^:,]+):(%d+)') do
    base = tonumber(base)
    if not low or base < low then low = base end
    if id == theirs then return since <= low end
  end
  return false
end
`;

/**
 * Rate-limit, append, sequence, trim and remember the clientId in one round trip. The message JSON
 * arrives split around its `seq` so the script only splices the number and the epoch in; a repeat of
 * a stored clientId returns the stored message instead of writing a second one (and is not charged),
 * in its state in the list when still kept there (edited, or deleted: issue 14).
 * The message rate limit (ARGV[7] per 1 s window, then ARGV[8] more per 10 s window; ARGV[7] '0':
 * off) counts in KEYS[5] / KEYS[6], the sender's counters in the room's slot: a refusal returns
 * {-1, ms until the 1 s window ends, ''} and stores nothing. This is the rule rate-limiter-flexible's
 * BurstyRateLimiter applied before (steady points per second, then burst points per 10 s), kept per
 * user and room so it rides in the append's round trip. ARGV[9] (issue 14): the sender, lower-cased;
 * ARGV[10] '1' when the room is private or a DM: refused with {-2} unless in KEYS[7], the room's
 * members. A room with members is members-only whatever ARGV[10] says: a socket that joined a
 * public room deleted since (its instance missed the broadcast) and whose name now belongs to a
 * private room is refused too. KEYS[8], when given: a shard channel in the room's slot (declared
 * like a key, as Redis Cluster routes and checks it), where a new message is published (SPUBLISH of
 * ARGV[11] .. stored message .. ARGV[12]; src/realtime/script-fanout.ts); a repeat or a refusal
 * publishes nothing.
 */
const APPEND = new LuaScript(
  'append',
  `${EPOCH_LUA}
if (ARGV[10] == '1' or redis.call('EXISTS', KEYS[7]) == 1) and not redis.call('ZSCORE', KEYS[7], ARGV[9]) then
  return {-2, '', ''}
end
if ARGV[5] == '1' then
  local prev = redis.call('GET', KEYS[4])
  if prev then
    -- The message as it is now (edited, or a deletion's tombstone) when the list still holds it.
    local ok, p = pcall(cjson.decode, prev)
    local latest = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
    if ok and type(p) == 'table' and tonumber(p.seq) and tonumber(p.seq) <= latest then
      local cur = redis.call('LINDEX', KEYS[1], latest - tonumber(p.seq))
      if cur then
        local ok2, c = pcall(cjson.decode, cur)
        if ok2 and type(c) == 'table' and c.id == p.id then return {0, cur, ''} end
      end
    end
    return {0, prev, ''}
  end
end
if ARGV[7] ~= '0' then
  local n = redis.call('INCR', KEYS[5])
  if n == 1 then redis.call('PEXPIRE', KEYS[5], 1000) end
  if n > tonumber(ARGV[7]) then
    local b = redis.call('INCR', KEYS[6])
    if b == 1 then redis.call('PEXPIRE', KEYS[6], 10000) end
    if b > tonumber(ARGV[8]) then
      local wait = redis.call('PTTL', KEYS[5])
      if wait < 1 then wait = 1 end
      return {-1, tostring(wait), ''}
    end
  end
end
local epoch = room_epoch(ARGV[6])
local seq = redis.call('INCR', KEYS[2])
local msg = ARGV[1] .. seq .. ',"epoch":"' .. epoch .. '"' .. ARGV[2]
redis.call('LPUSH', KEYS[1], msg)
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
if ARGV[5] == '1' then redis.call('SET', KEYS[4], msg, 'EX', ARGV[4]) end
if KEYS[8] then redis.call('SPUBLISH', KEYS[8], ARGV[11] .. msg .. ARGV[12]) end
return {seq, msg, epoch}
`,
  /**
   * {seq, message JSON, epoch}; seq 0 marks a repeat and carries the stored message, seq -1 a
   * refusal by the rate limit and carries the ms to wait, seq -2 a sender who is not a member
   * (ARGV[9], checked against KEYS[7] roomMembers: issue 14).
   */
  z.tuple([z.number().int().min(-2), z.string(), z.string()]),
);

/**
 * A window of the newest-first list by sequence: seq s sits at index latest - s, because every
 * append bumps the counter and pushes in the same script.
 * ARGV: fresh epoch, mode (`page` | `catchup`), since (-1: none), before (0: none), limit,
 * client epoch ('' : none), page size on a failed catch-up.
 * A catch-up is continuous when `since` is in the current epoch and not beyond the counter, or in
 * an epoch of the chain and not beyond any counter at which an epoch ended since. A `since` beyond the counter in the current epoch
 * proves lost writes the replication id did not reveal: a new epoch starts. Clients without an epoch get
 * the old rule (continuous unless beyond the counter). Returns {epoch, latest, kept, continuous
 * (1/0), items}.
 */
const RANGE = new LuaScript(
  'range',
  `${EPOCH_LUA}
local epoch, latest, boot = room_epoch(ARGV[1])
local len = redis.call('LLEN', KEYS[1])
local function window(after, before, limit)
  local hi = latest
  if before > 0 and before - 1 < hi then hi = before - 1 end
  local lo = hi - limit + 1
  if after >= 0 and after + 1 > lo then lo = after + 1 end
  if lo < 1 then lo = 1 end
  if hi < lo then return {} end
  return redis.call('LRANGE', KEYS[1], latest - hi, latest - lo)
end
local since = tonumber(ARGV[3])
local limit = tonumber(ARGV[5])
if ARGV[2] == 'page' or since < 0 then
  return {epoch, latest, len, 1, window(-1, tonumber(ARGV[4]), limit)}
end
local theirs = ARGV[6]
local continuous
if theirs == '' then
  continuous = since <= latest
elseif theirs == epoch then
  continuous = since <= latest
  if not continuous then epoch = start_epoch(ARGV[1], epoch, latest, boot) end
else
  continuous = continued_from(theirs, since)
end
if continuous and since + 1 >= latest - len + 1 then
  return {epoch, latest, len, 1, window(since, 0, limit)}
end
return {epoch, latest, len, 0, window(-1, 0, tonumber(ARGV[7]))}
`,
  z.tuple([
    z.string(),
    z.number().int().min(0),
    z.number().int().min(0),
    z.union([z.literal(0), z.literal(1)]),
    z.array(storedMessage),
  ]),
);

/** The room's latest seq and epoch (starting a new epoch when the Redis process changed): {epoch, latest}. */
const STATE = new LuaScript(
  'room-state',
  `${EPOCH_LUA}
local epoch, latest = room_epoch(ARGV[1])
return {epoch, latest}
`,
  z.tuple([z.string(), z.number().int().min(0)]),
);

// ---- Issue 14: catch-up sends the final state of older messages changed since `since` ----------

/**
 * The stored (final) state of messages with seq <= since that were edited or deleted while the
 * room's latest seq was >= since (roomChanges, see store/message-changes.ts), still kept in the list.
 * KEYS: messages, seq, changes. ARGV: since. Returns their JSON, any order.
 */
const CHANGED_SINCE = new LuaScript(
  'changed-since',
  `
local latest = tonumber(redis.call('GET', KEYS[2]) or '0')
local oldest = latest - redis.call('LLEN', KEYS[1]) + 1
local since = tonumber(ARGV[1])
local out = {}
for _, s in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], since, '+inf')) do
  s = tonumber(s)
  if s and s <= since and s >= oldest then
    local raw = redis.call('LINDEX', KEYS[1], latest - s)
    if raw then out[#out + 1] = raw end
  end
end
return out
`,
  z.array(storedMessage),
);
// ---- end issue 14 ----

/** A new epoch id: 12 random hex digits (an epoch only has to differ from the ones before it). */
const freshEpoch = () => randomBytes(6).toString('hex');

export interface HistoryPage {
  /** Newest first. */
  messages: Message[];
  latestSeq: number;
  /** The room sequence's epoch that `latestSeq` counts in. */
  epoch: string;
  /** Messages Redis still keeps for the room. */
  kept: number;
}

export interface CatchUp extends HistoryPage {
  /**
   * False when the client's view cannot be continued: more was written since `since` than Redis
   * keeps, or `since` lies beyond what survived a loss of writes. The newest page came instead.
   */
  recovered: boolean;
}

/** A room's latest sequence and its epoch. */
export interface SeqState {
  seq: number;
  epoch: string;
}

export type AppendResult =
  | { message: Message; duplicate: boolean; retryAfterMs?: undefined }
  /** Refused by the message rate limit: nothing stored; retry after this many ms. */
  | { message?: undefined; duplicate?: undefined; retryAfterMs: number };

/** The message rate limit the append script applies (RL_MESSAGE_PER_S, RL_MESSAGE_BURST). */
export interface MessageRateLimit {
  /** Messages per user and room in each 1 s window. */
  perWindow: number;
  /** Further messages per user and room in each 10 s window once the 1 s window is used up. */
  burst: number;
}

export type MessageStore = ReturnType<typeof createMessageStore>;

/**
 * What the append script publishes for a new message: `head + stored message JSON + tail` to
 * `channel` (SPUBLISH), built by src/realtime/script-fanout.ts.
 */
export interface FanoutParts {
  channel: string;
  head: string;
  tail: string;
}

/**
 * The room message store. Appends run on `durable` (src/redis/clients.ts DurableWrites): with
 * replicas to wait for, an append is acknowledged only once they hold it, so an acked message
 * survives a failover; without `durable` (or with 0 replicas) they run on `redis` unconfirmed.
 */
export function createMessageStore(
  redis: RedisClient,
  keys: Keys,
  opts: {
    historySize: number;
    historyOnJoin: number;
    dedupeWindowS: number;
    /** Absent: no message rate limit (RATE_LIMITS=off). */
    messageRate?: MessageRateLimit | undefined;
  },
  durable?: DurableWrites,
) {
  const writer = durable ?? { replicas: 0, client: redis, confirm: () => Promise.resolve() };
  const rate = opts.messageRate;
  const rateArgs = rate ? [String(Math.max(1, rate.perWindow)), String(rate.burst)] : ['0', '0'];
  const roomKeys = (room: string) => [keys.roomMessages(room), keys.roomSeq(room), keys.roomEpoch(room)];

  return {
    /** A key in `room`'s slot (its sequence counter): what a publication must share a slot with. */
    slotKey: (room: string) => keys.roomSeq(room),

    /**
     * Stores a message (seq, epoch) unless its clientId was stored within DEDUPE_WINDOW_S (then the
     * stored one, `duplicate: true`) or the sender used up the message rate limit in this room (then
     * `retryAfterMs`, nothing stored). One Redis round trip. `membersOnly` (a private room or DM):
     * refused with `not_member` inside the same script when the sender is not in the room's members
     * (a removal on any instance counts at once). With replicas to wait for, resolves only once
     * they hold it; rejects `unavailable` when they do not in time (ReplicaAckError: the sender
     * retries with its clientId, stored once). `publish`: what the script publishes for a new
     * message, in the same round trip (never with replicas to wait for: see script-fanout.ts).
     */
    async append(
      room: string,
      sender: string,
      text: string,
      clientId?: string,
      membersOnly = false,
      publish?: FanoutParts,
    ): Promise<AppendResult> {
      const id = randomUUID();
      const timestamp = new Date().toISOString();
      const rest = JSON.stringify(
        clientId
          ? { roomId: room, text, sender, timestamp, clientId }
          : { roomId: room, text, sender, timestamp },
      );
      const head = `{"id":${JSON.stringify(id)},"seq":`;
      const tail = `,${rest.slice(1)}`;
      const who = sender.toLowerCase();
      const dedupeKey = clientId ? keys.roomDedupe(room, who, clientId) : keys.roomDedupe(room, '', '');
      const [seq, stored, epoch] = await APPEND.run(
        writer.client,
        [
          ...roomKeys(room),
          dedupeKey,
          keys.roomMessageRate(room, who, 'steady'),
          keys.roomMessageRate(room, who, 'burst'),
          keys.roomMembers(room),
          ...(publish ? [publish.channel] : []),
        ],
        [
          head,
          tail,
          String(opts.historySize),
          String(opts.dedupeWindowS),
          clientId ? '1' : '0',
          freshEpoch(),
          ...rateArgs,
          who,
          membersOnly ? '1' : '',
          publish?.head ?? '',
          publish?.tail ?? '',
        ],
      );
      if (seq === -2) throw new AppError('not_member', `You are no longer a member of "${room}".`);
      if (seq === -1) return { retryAfterMs: Math.max(1, Number(stored)) };
      if (writer.replicas > 0) {
        // A repeat wrote nothing on this connection, and the original's own WAIT may have fallen
        // short (answered `unavailable`): a write after it here makes this WAIT cover it too.
        if (seq === 0) await writer.client.expire(dedupeKey, opts.dedupeWindowS);
        await writer.confirm(keys.roomSeq(room));
      }
      if (seq === 0) return { message: decodeReply('append', storedMessage, stored), duplicate: true };
      const message: Message = { id, seq, epoch, roomId: room, text, sender, timestamp };
      if (clientId) message.clientId = clientId;
      return { message, duplicate: false };
    },

    /** The newest `limit` messages older than `before` (all when before is undefined). */
    async page(room: string, before: number | undefined, limit: number): Promise<HistoryPage> {
      const [epoch, latestSeq, kept, , messages] = await RANGE.run(redis, roomKeys(room), [
        freshEpoch(),
        'page',
        '-1',
        String(before ?? 0),
        String(limit),
        '',
        '0',
      ]);
      return { epoch, latestSeq, kept, messages };
    },

    /**
     * What a join sends: the newest HISTORY_ON_JOIN, or with `since` everything after it when still
     * kept and continuous with the client's `epoch` (see RANGE), followed by the final state of older
     * messages edited or deleted since (CHANGED_SINCE); otherwise the newest page and `recovered: false`.
     */
    async catchUp(room: string, since: number | undefined, epoch?: string): Promise<CatchUp> {
      const [current, latestSeq, kept, continuous, messages] = await RANGE.run(redis, roomKeys(room), [
        freshEpoch(),
        'catchup',
        String(since ?? -1),
        '0',
        String(since === undefined ? opts.historyOnJoin : opts.historySize),
        epoch ?? '',
        String(opts.historyOnJoin),
      ]);
      if (since === undefined || continuous !== 1) {
        return { epoch: current, latestSeq, kept, messages, recovered: continuous === 1 };
      }
      // Issue 14: and the final state of older messages changed since (newest first, like the rest).
      const changed = await CHANGED_SINCE.run(
        redis,
        [keys.roomMessages(room), keys.roomSeq(room), keys.roomChanges(room)],
        [String(since)],
      );
      changed.sort((x, y) => y.seq - x.seq);
      return { epoch: current, latestSeq, kept, messages: [...messages, ...changed], recovered: true };
    },

    /** The latest seq and epoch of each room, one script per room (rooms may sit on different slots). */
    async states(rooms: readonly string[]): Promise<Map<string, SeqState>> {
      const replies = await Promise.all(
        rooms.map((room) => STATE.run(redis, roomKeys(room), [freshEpoch()])),
      );
      return new Map(
        rooms.map((room, i) => [room, { epoch: replies[i]?.[0] ?? '', seq: replies[i]?.[1] ?? 0 }]),
      );
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
