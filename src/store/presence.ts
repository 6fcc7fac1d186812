import type { RedisClient } from '../redis/clients.js';
import { PRESENCE_BUCKETS, presenceBucketOf, type Keys } from '../redis/keys.js';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { instanceInfoSchema, type InstanceInfo, type WhoPage } from '../protocol.js';
import { LuaScript } from '../redis/script.js';

export type { InstanceInfo };

/** A count in a script reply: a non-negative integer. */
const count = z.number().int().min(0);

/**
 * Cluster-wide presence, partitioned over PRESENCE_BUCKETS buckets (redis/keys.ts: precomputed hash
 * tags spread evenly over the cluster slots). A user's online count lives in the bucket of the
 * username, a room's member counts in the bucket of the room name, so a connect is one script on one
 * slot, a disconnect or a room move at most two, whatever the number of users online.
 *
 * Per bucket: a hash counts each user's connections over all instances (online, and one per room),
 * a sorted set lists the bucket's online users (for `who` pages), each instance records its own
 * contributions there in its own hash and holds a lease in the bucket's sorted set of leases, and a
 * version counter orders count broadcasts. When an instance dies without a goodbye its leases lapse
 * and any other instance reaps it bucket by bucket: its contributions are subtracted, so its users
 * leave the counts within a lease. This instance keeps the truth of its own contributions in memory
 * (`local`, per bucket), so when a bucket's lease was reaped (a long stall, a Redis node that lost
 * data) the heartbeat re-applies that bucket's part whole.
 * Distinct online users = the sum of the buckets' online hash lengths (HLEN, kept by Redis), summed
 * in process from version-ordered per-bucket counts (realtime/presence-sync.ts): never counted.
 */

/** Field names in an instance hash. Usernames and room names cannot hold '|'. */
const onlineField = (user: string) => `u|${user}`;
const roomField = (room: string, user: string) => `r|${room}|${user}`;
/** The room of a `r|room|user` field; undefined for an online field. */
const fieldRoom = (field: string) =>
  field.startsWith('r|') ? field.slice(2, field.indexOf('|', 2)) : undefined;
/**
 * Rounds a reap or resync may take to learn the rooms an instance hash holds (each round adds the
 * undeclared rooms the script reported); more means the hash keeps changing under us.
 */
const MAX_ROOM_ROUNDS = 3;
/** A reap `now` later than any lease: a graceful leave reaps its own leases whatever their expiry. */
const FOREVER = String(Number.MAX_SAFE_INTEGER);

/**
 * Apply ops to one bucket for this instance, only while it holds the bucket's lease (otherwise a
 * reaper already undid it and the heartbeat will resync). KEYS: leases, version, instance, online,
 * names, then the room hashes the ops name. ARGV: id, then [field, user, delta, j]… where j = 0 is
 * the online hash (and keeps the names set in step) and j ≥ 1 is KEYS[5 + j].
 * Returns {1, the user's cluster-wide count after each op…} or {0} when the lease is gone.
 */
const APPLY = new LuaScript(
  'presence_apply',
  `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {0} end
local out = {1}
for i = 2, #ARGV, 4 do
  local f, user, d, j = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
  local c = redis.call('HINCRBY', KEYS[3], f, d)
  if c <= 0 then redis.call('HDEL', KEYS[3], f) end
  local gkey = KEYS[4]
  if j > 0 then gkey = KEYS[5 + j] end
  local g = redis.call('HINCRBY', gkey, user, d)
  if g <= 0 then redis.call('HDEL', gkey, user) end
  if j == 0 and g <= 0 then redis.call('ZREM', KEYS[5], user) end
  if j == 0 and g > 0 and g == d then redis.call('ZADD', KEYS[5], 0, user) end
  table.insert(out, math.max(g, 0))
end
redis.call('INCR', KEYS[2])
return out
`,
  z.union([z.tuple([z.literal(0)]), z.tuple([z.literal(1)], count)]),
);

/**
 * Lua shared by reap and resync, on one bucket. KEYS: leases, version, instance hash, online, names,
 * then the room hashes named, in order, by ARGV[4..3+n] (n = ARGV[3] in both scripts).
 * `missing` lists the rooms the instance hash holds that the caller did not declare: the script then
 * changes nothing and returns them, and the caller runs it again with those rooms declared.
 */
const UNDO_INSTANCE = `
local roomKeys = {}
for i = 1, tonumber(ARGV[3]) do roomKeys[ARGV[3 + i]] = KEYS[5 + i] end
local function parse(f)
  if string.sub(f, 1, 2) == 'u|' then return nil, string.sub(f, 3) end
  local sep = string.find(f, '|', 3, true)
  return string.sub(f, 3, sep - 1), string.sub(f, sep + 1)
end
local function missing()
  local out, seen = {}, {}
  for _, f in ipairs(redis.call('HKEYS', KEYS[3])) do
    local room = parse(f)
    if room and not roomKeys[room] and not seen[room] then
      seen[room] = true
      table.insert(out, room)
    end
  end
  return out
end
local function bump(room, user, d, touched)
  if room then
    touched[room] = true
    local g = redis.call('HINCRBY', roomKeys[room], user, d)
    if g <= 0 then redis.call('HDEL', roomKeys[room], user) end
    return
  end
  local g = redis.call('HINCRBY', KEYS[4], user, d)
  if g <= 0 then
    redis.call('HDEL', KEYS[4], user)
    redis.call('ZREM', KEYS[5], user)
  elseif g == d then
    redis.call('ZADD', KEYS[5], 0, user)
  end
end
local function undo(touched)
  local fields = redis.call('HGETALL', KEYS[3])
  for i = 1, #fields, 2 do
    local room, user = parse(fields[i])
    bump(room, user, -tonumber(fields[i + 1]), touched)
  end
  redis.call('DEL', KEYS[3])
end
local function list(set)
  local out = {}
  for r, _ in pairs(set) do table.insert(out, r) end
  return out
end
`;

const undoReply = z.tuple([z.union([z.literal(0), z.literal(1), z.literal(2)]), z.array(z.string())]);

/**
 * Reap one instance from one bucket when its lease there expired before ARGV[2] (a lease renewed
 * meanwhile is left alone). ARGV: id, now, n, room names (n)…
 * Returns {1, rooms touched}, {0, {}} when there was nothing to reap, {2, undeclared rooms}.
 */
const REAP = new LuaScript(
  'presence_reap',
  `${UNDO_INSTANCE}
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then return {0, {}} end
local absent = missing()
if #absent > 0 then return {2, absent} end
local touched = {}
undo(touched)
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
return {1, list(touched)}
`,
  undoReply,
);

/**
 * Resync one bucket after its lease was lost (or a write failed midway): undo whatever the instance
 * hash still holds, take the lease, re-apply this instance's state of the bucket given in ARGV.
 * ARGV: id, expiry, n, room names (n)…, then [field, user, count]…
 * Returns {1, rooms touched} or {2, undeclared rooms}.
 */
const RESYNC = new LuaScript(
  'presence_resync',
  `${UNDO_INSTANCE}
local absent = missing()
if #absent > 0 then return {2, absent} end
local touched = {}
undo(touched)
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
for i = 4 + tonumber(ARGV[3]), #ARGV, 3 do
  local f, user, c = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  redis.call('HSET', KEYS[3], f, c)
  bump((parse(f)), user, c, touched)
end
redis.call('INCR', KEYS[2])
return {1, list(touched)}
`,
  undoReply,
);

/**
 * The heartbeat of one bucket: renew this instance's lease there and say which other instances'
 * leases have lapsed, with the bucket's version and online count. When the lease is missing (reaped,
 * or a Redis node lost it) or ARGV[4] is '1', it changes nothing and answers 1: resync.
 * KEYS: leases, version, online. ARGV: id, expiry, now, force.
 * Returns {0, version, online, lapsed ids} or {1, 0, 0, {}}.
 */
const TICK = new LuaScript(
  'presence_tick',
  `
if ARGV[4] == '1' or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return {1, 0, 0, {}} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
return {0, tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('HLEN', KEYS[3]), lapsed}
`,
  z.tuple([z.union([z.literal(0), z.literal(1)]), count, count, z.array(z.string())]),
);

/** One bucket's version and online count, then the member count of each room hash given. KEYS: version, online, rooms… */
const READ = new LuaScript(
  'presence_read',
  `
local out = {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('HLEN', KEYS[2])}
for i = 3, #KEYS do table.insert(out, redis.call('HLEN', KEYS[i])) end
return out
`,
  z.array(count).min(2),
);

/** One bucket's counts: `online` distinct users of the bucket, as of `version` (bucket-local). */
export interface BucketCount {
  bucket: number;
  version: number;
  online: number;
}

/** Counts read together: the buckets asked for, and each room's members with its bucket's version. */
export interface Counts {
  buckets: BucketCount[];
  rooms: Map<string, { version: number; count: number }>;
}

/** What one heartbeat did: fresh bucket counts, and what changed (to broadcast). */
export interface TickResult {
  /** Counts of the buckets whose lease was simply renewed (read in the same script). */
  counts: BucketCount[];
  /** Buckets this instance re-applied after losing their lease. */
  resynced: number[];
  /** Instances reaped (in at least one bucket). */
  reaped: string[];
  /** Buckets and rooms whose counts the resyncs and reaps changed. */
  changedBuckets: number[];
  changedRooms: string[];
  /** Set when some bucket's heartbeat failed (Redis away): what the others did is still reported. */
  error?: unknown;
}

export type PresenceStore = ReturnType<typeof createPresenceStore>;

interface Op {
  bucket: number;
  field: string;
  user: string;
  delta: number;
  /** undefined: the user's online count; else the room whose member count this is. */
  room: string | undefined;
}

/** `who` cursors: `<bucket>:<last name>`; a name holds no ':' (USERNAME_RE). */
const CURSOR_RE = /^(\d{1,3}):(.*)$/;

export function createPresenceStore(
  redis: RedisClient,
  keys: Keys,
  opts: { instanceId: string; leaseMs: number; startedAt: string },
) {
  const id = opts.instanceId;
  const buckets = Array.from({ length: PRESENCE_BUCKETS }, (_, b) => b);
  /** The keys every mutating script of bucket `b` starts with (for instance `who`). */
  const bucketKeys = (b: number, who: string) => [
    keys.presenceLeases(b),
    keys.presenceVersion(b),
    keys.presenceInstance(b, who),
    keys.presenceOnline(b),
    keys.presenceNames(b),
  ];
  /** This instance's contributions per bucket: field → { user, count }. */
  const local = buckets.map(() => new Map<string, { user: string; count: number }>());
  /** Users with a connection here (the status page's `users`), kept, not counted. */
  let localUsers = 0;
  /** Buckets where a write may have half-happened (Redis went away): the next heartbeat resyncs them. */
  const mustResync = new Set<number>();

  function track(op: Op): void {
    const map = local[op.bucket];
    if (!map) return;
    const entry = map.get(op.field) ?? { user: op.user, count: 0 };
    if (entry.count === 0 && op.delta > 0 && op.room === undefined) localUsers++;
    entry.count += op.delta;
    if (entry.count <= 0) {
      if (map.delete(op.field) && op.room === undefined) localUsers--;
    } else map.set(op.field, entry);
  }

  /** Writes the ops of one bucket; the user's cluster-wide count after each, or null without the lease. */
  async function write(bucket: number, ops: Op[]): Promise<number[] | null> {
    const rooms: string[] = [];
    const args = [id];
    for (const op of ops) {
      let j = 0;
      if (op.room !== undefined) {
        j = rooms.indexOf(op.room) + 1 || rooms.push(op.room);
      }
      args.push(op.field, op.user, String(op.delta), String(j));
    }
    try {
      const [held, ...counts] = await APPLY.run(
        redis,
        [...bucketKeys(bucket, id), ...rooms.map((r) => keys.presenceRoom(r))],
        args,
      );
      return held === 1 ? counts : null;
    } catch (err) {
      mustResync.add(bucket);
      throw err;
    }
  }

  /**
   * Applies ops to the local truth, then to Redis, one script per bucket (in parallel). Returns the
   * cluster-wide count after each op, in order, or null when a bucket's lease was lost (the next
   * heartbeat resyncs it).
   */
  async function apply(ops: Op[]): Promise<number[] | null> {
    for (const op of ops) track(op);
    const byBucket = new Map<number, Op[]>();
    for (const op of ops) byBucket.set(op.bucket, [...(byBucket.get(op.bucket) ?? []), op]);
    const parts = [...byBucket];
    const replies = await Promise.all(parts.map(([b, bOps]) => write(b, bOps)));
    const out = new Map<Op, number>();
    for (const [i, [, bOps]] of parts.entries()) {
      const counts = replies[i];
      if (!counts) return null;
      bOps.forEach((op, k) => out.set(op, counts[k] ?? 0));
    }
    return ops.map((op) => out.get(op) ?? 0);
  }

  const online = (user: string, delta: number): Op => ({
    bucket: presenceBucketOf(user),
    field: onlineField(user),
    user,
    delta,
    room: undefined,
  });
  const inRoom = (room: string, user: string, delta: number): Op => ({
    bucket: presenceBucketOf(room),
    field: roomField(room, user),
    user,
    delta,
    room,
  });

  /** This instance's rooms in bucket `b` (the room keys its scripts must declare). */
  function localRooms(b: number): Set<string> {
    const rooms = new Set<string>();
    for (const field of local[b]?.keys() ?? []) {
      const room = fieldRoom(field);
      if (room !== undefined) rooms.add(room);
    }
    return rooms;
  }

  /**
   * Runs an undo script (reap or resync) on bucket `b` for instance `who`, declaring `rooms` and
   * whatever rooms the script reports missing. Returns the status and the rooms touched.
   */
  async function undoRounds(
    script: typeof REAP,
    b: number,
    who: string,
    rooms: Set<string>,
    head: string[],
    tail: string[],
  ): Promise<{ status: 0 | 1; rooms: string[] }> {
    for (let attempt = 0; ; attempt++) {
      const names = [...rooms];
      const [status, out] = await script.run(
        redis,
        [...bucketKeys(b, who), ...names.map((r) => keys.presenceRoom(r))],
        [...head, String(names.length), ...names, ...tail],
      );
      if (status !== 2) return { status, rooms: status === 1 ? out : [] };
      if (attempt >= MAX_ROOM_ROUNDS) throw new Error(`presence ${script.name}: room set kept changing`);
      for (const r of out) rooms.add(r);
    }
  }

  /** Re-applies this instance's state of bucket `b` (built when sent, so no write can slip between). */
  async function resync(b: number): Promise<string[]> {
    const triples: string[] = [];
    for (const [field, { user, count: c }] of local[b] ?? []) triples.push(field, user, String(c));
    const expiry = String(Date.now() + opts.leaseMs);
    const { rooms } = await undoRounds(RESYNC, b, id, localRooms(b), [id, expiry], triples);
    return rooms;
  }

  async function reap(b: number, who: string, now: string): Promise<{ reaped: boolean; rooms: string[] }> {
    const rooms = who === id ? localRooms(b) : new Set<string>();
    const { status, rooms: touched } = await undoRounds(REAP, b, who, rooms, [who, now], []);
    return { reaped: status === 1, rooms: touched };
  }

  /** Heartbeat of one bucket: renew (or resync), then reap lapsed instances there. */
  async function tickBucket(b: number, now: number, result: TickResult, reaped: Set<string>): Promise<void> {
    const force = mustResync.delete(b);
    try {
      const [status, version, onlineCount, lapsed] = await TICK.run(
        redis,
        [keys.presenceLeases(b), keys.presenceVersion(b), keys.presenceOnline(b)],
        [id, String(now + opts.leaseMs), String(now), force ? '1' : '0'],
      );
      if (status === 1) {
        result.changedRooms.push(...(await resync(b)));
        result.resynced.push(b);
        result.changedBuckets.push(b);
      } else result.counts.push({ bucket: b, version, online: onlineCount });
      for (const dead of lapsed) {
        const r = await reap(b, dead, String(now));
        if (!r.reaped) continue;
        reaped.add(dead);
        result.changedRooms.push(...r.rooms);
        if (!result.changedBuckets.includes(b)) result.changedBuckets.push(b);
      }
    } catch (err) {
      if (force) mustResync.add(b);
      throw err;
    }
  }

  return {
    /** A socket of `user` connected here; resolves to the user's connection count cluster-wide. */
    connect: async (user: string) => (await apply([online(user, 1)]))?.[0] ?? null,
    /** A socket of `user` disconnected here (leaving its room too); resolves like connect. */
    disconnect: async (user: string, room: string | null) =>
      (await apply(room ? [inRoom(room, user, -1), online(user, -1)] : [online(user, -1)]))?.at(-1) ?? null,
    /** A socket moves from one room (or none) to another (or none): one script per bucket involved. */
    move: (user: string, from: string | null, to: string | null) => {
      const ops: Op[] = [];
      if (from) ops.push(inRoom(from, user, -1));
      if (to) ops.push(inRoom(to, user, 1));
      return ops.length > 0 ? apply(ops) : Promise.resolve([]);
    },

    /** The bucket of a username or room name (redis/keys.ts). */
    bucketOf: presenceBucketOf,

    /**
     * The heartbeat: writes this instance's status-page entry, then per bucket renews the lease
     * (re-applying the bucket's local state when it was lost) and reaps instances whose lease there
     * lapsed. `fresh` (at start-up) resyncs every bucket, undoing what an earlier process with the
     * same id left. One script per bucket, plus one per reap or resync. A failure of some buckets
     * is reported in `error` (the writes of the others happened); only the status-page write throws.
     */
    async heartbeat(info: { connections: number }, fresh = false): Promise<TickResult> {
      const now = Date.now();
      await redis.hSet(
        keys.presenceInfo,
        id,
        JSON.stringify({
          startedAt: opts.startedAt,
          connections: info.connections,
          users: localUsers,
          lastSeen: new Date(now).toISOString(),
          leaseExpiresAt: new Date(now + opts.leaseMs).toISOString(),
        }),
      );
      if (fresh) for (const b of buckets) mustResync.add(b);
      const result: TickResult = {
        counts: [],
        resynced: [],
        reaped: [],
        changedBuckets: [],
        changedRooms: [],
      };
      const reaped = new Set<string>();
      const failures = await Promise.allSettled(buckets.map((b) => tickBucket(b, now, result, reaped)));
      result.reaped = [...reaped];
      result.changedRooms = [...new Set(result.changedRooms)];
      for (const dead of reaped) await redis.hDel(keys.presenceInfo, dead);
      const failed = failures.find((f) => f.status === 'rejected');
      if (failed) result.error = failed.reason;
      return result;
    },

    /** Leave the cluster now (graceful shutdown): reap ourselves in every bucket. Returns the rooms touched. */
    async leave(): Promise<{ rooms: string[]; buckets: number[] }> {
      const touched = new Set<string>();
      await Promise.all(
        buckets.map(async (b) => {
          for (const r of (await reap(b, id, FOREVER)).rooms) touched.add(r);
          local[b]?.clear();
        }),
      );
      localUsers = 0;
      await redis.hDel(keys.presenceInfo, id);
      return { rooms: [...touched], buckets };
    },

    /**
     * The counts of `bucketsAsked` and of `rooms`, one script per bucket involved (in parallel).
     * A room's count carries its bucket's version.
     */
    async counts(bucketsAsked: Iterable<number>, rooms: Iterable<string> = []): Promise<Counts> {
      const plan = new Map<number, string[]>();
      for (const b of bucketsAsked) if (!plan.has(b)) plan.set(b, []);
      for (const r of new Set(rooms)) {
        const b = presenceBucketOf(r);
        plan.set(b, [...(plan.get(b) ?? []), r]);
      }
      const out: Counts = { buckets: [], rooms: new Map() };
      await Promise.all(
        [...plan].map(async ([b, names]) => {
          const [version = 0, onlineCount = 0, ...perRoom] = await READ.run(
            redis,
            [keys.presenceVersion(b), keys.presenceOnline(b), ...names.map((r) => keys.presenceRoom(r))],
            [],
          );
          out.buckets.push({ bucket: b, version, online: onlineCount });
          names.forEach((r, i) => out.rooms.set(r, { version, count: perRoom[i] ?? 0 }));
        }),
      );
      return out;
    },

    /** Members (distinct users) of each room, across the cluster. */
    async roomMembers(rooms: readonly string[]): Promise<Map<string, number>> {
      const { rooms: got } = await this.counts([], rooms);
      return new Map(rooms.map((r) => [r, got.get(r)?.count ?? 0]));
    },

    /**
     * One page of online usernames: bucket by bucket, each bucket in name order, after `cursor`
     * (the `next` of the previous page; '' = from the start), at most `limit`. A user online for
     * the whole walk is listed exactly once. Cost: at most one ZRANGEBYLEX (O(log n + limit)) per
     * bucket, whatever the number of users online. `invalid_payload` for a cursor not made here.
     */
    async page(cursor: string, limit: number): Promise<WhoPage> {
      let b = 0;
      let after = '';
      if (cursor !== '') {
        const m = CURSOR_RE.exec(cursor);
        b = Number(m?.[1] ?? NaN);
        after = m?.[2] ?? '';
        if (!m || b >= PRESENCE_BUCKETS) throw new AppError('invalid_payload', 'cursor is not valid');
      }
      const users: string[] = [];
      while (b < PRESENCE_BUCKETS && users.length < limit) {
        const want = limit - users.length;
        const got = await redis.zRangeByLex(keys.presenceNames(b), after === '' ? '-' : `(${after}`, '+', {
          LIMIT: { offset: 0, count: want },
        });
        users.push(...got);
        if (got.length < want) {
          b++;
          after = '';
        } else after = got.at(-1) ?? after;
      }
      return { users, next: b < PRESENCE_BUCKETS ? `${b}:${after}` : null };
    },

    async instances(): Promise<InstanceInfo[]> {
      const all = await redis.hGetAll(keys.presenceInfo);
      const now = Date.now();
      return Object.entries(all)
        .flatMap(([instance, raw]) => {
          const info = instanceInfoSchema.safeParse({ ...(JSON.parse(raw) as object), id: instance });
          // An entry whose lease lapsed is a dead instance the reaper has not removed yet.
          return info.success && Date.parse(info.data.leaseExpiresAt) >= now ? [info.data] : [];
        })
        .sort((a, b) => a.id.localeCompare(b.id));
    },
  };
}
