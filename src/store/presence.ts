import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';
import { z } from 'zod';
import { instanceInfoSchema, type InstanceInfo } from '../protocol.js';
import { LuaScript } from '../redis/script.js';

export type { InstanceInfo };

/** A count in a script reply: a non-negative integer. */
const count = z.number().int().min(0);

/**
 * Cluster-wide presence. Global hashes count each user's connections (online, and per room) over
 * all instances; each instance also records its own contributions in its own hash and holds a lease
 * in a sorted set. When an instance dies without a goodbye its lease lapses and any other instance
 * reaps it: its contributions are subtracted, so its users leave the counts within a lease.
 * This instance keeps the truth of its own contributions in memory (`local`), so when its lease was
 * reaped (a long stall, a Redis restart that lost data) the heartbeat re-applies them whole.
 * All keys share the {presence} hash tag: every script touches one slot.
 */

/** Field names in an instance hash. Usernames and room names cannot hold '|'. */
const onlineField = (user: string) => `u|${user}`;
const roomField = (room: string, user: string) => `r|${room}|${user}`;
/** The room of a `r|room|user` field; undefined for an online field. */
const fieldRoom = (field: string) =>
  field.startsWith('r|') ? field.slice(2, field.indexOf('|', 2)) : undefined;
/**
 * Rounds a reap or heartbeat may take to learn the rooms an instance hash holds (each round adds
 * the undeclared rooms the script reported); more means the hash keeps changing under us.
 */
const MAX_ROOM_ROUNDS = 3;

/**
 * Apply ops [field, user, delta] for this instance, only while it holds its lease (otherwise a
 * reaper already undid it and the heartbeat will resync). KEYS: instance, leases, version, then one
 * global hash per op. Returns {1, the user's cluster-wide count after each op…} or {0} when the
 * lease is gone.
 */
const APPLY = new LuaScript(
  'presence_apply',
  `
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return {0} end
local out = {1}
local n = (#ARGV - 1) / 3
for i = 0, n - 1 do
  local f, user, d = ARGV[2 + i * 3], ARGV[3 + i * 3], tonumber(ARGV[4 + i * 3])
  local gkey = KEYS[4 + i]
  local c = redis.call('HINCRBY', KEYS[1], f, d)
  if c <= 0 then redis.call('HDEL', KEYS[1], f) end
  local g = redis.call('HINCRBY', gkey, user, d)
  if g <= 0 then redis.call('HDEL', gkey, user) end
  table.insert(out, math.max(g, 0))
end
redis.call('INCR', KEYS[3])
return out
`,
  z.union([z.tuple([z.literal(0)]), z.tuple([z.literal(1)], count)]),
);

/**
 * Lua shared by reap and heartbeat. Every key is declared: KEYS[5] is the online hash and
 * KEYS[6..] the room hashes named, in order, by ARGV[5..4+n] (n = ARGV[4] in both scripts).
 * `missing` lists the rooms an instance hash holds that the caller did not declare: the script
 * then changes nothing and returns them, and the caller runs it again with those rooms declared.
 */
const UNDO_INSTANCE = `
local roomKeys = {}
for i = 1, tonumber(ARGV[4]) do roomKeys[ARGV[4 + i]] = KEYS[5 + i] end
local function parse(f)
  if string.sub(f, 1, 2) == 'u|' then return nil, string.sub(f, 3) end
  local sep = string.find(f, '|', 3, true)
  return string.sub(f, 3, sep - 1), string.sub(f, sep + 1)
end
local function missing(ikey)
  local out, seen = {}, {}
  for _, f in ipairs(redis.call('HKEYS', ikey)) do
    local room = parse(f)
    if room and not roomKeys[room] and not seen[room] then
      seen[room] = true
      table.insert(out, room)
    end
  end
  return out
end
local function undo(ikey, rooms)
  local fields = redis.call('HGETALL', ikey)
  for i = 1, #fields, 2 do
    local room, user = parse(fields[i])
    local gkey = KEYS[5]
    if room then
      gkey = roomKeys[room]
      rooms[room] = true
    end
    local g = redis.call('HINCRBY', gkey, user, -tonumber(fields[i + 1]))
    if g <= 0 then redis.call('HDEL', gkey, user) end
  end
  redis.call('DEL', ikey)
end
local function list(set)
  local out = {}
  for r, _ in pairs(set) do table.insert(out, r) end
  return out
end
`;

/**
 * Reap one instance whose lease expired before ARGV[1] (a lease renewed meanwhile is left alone).
 * KEYS: leases, version, info, the instance's hash, online, room hashes…
 * ARGV: now, id, unused, n, room names (n)…
 * Returns {1, rooms touched}, {0, {}} when there was nothing to reap, {2, undeclared rooms}.
 */
const REAP = new LuaScript(
  'presence_reap',
  `${UNDO_INSTANCE}
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not score or tonumber(score) > tonumber(ARGV[1]) then return {0, {}} end
local absent = missing(KEYS[4])
if #absent > 0 then return {2, absent} end
local rooms = {}
undo(KEYS[4], rooms)
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
redis.call('INCR', KEYS[2])
return {1, list(rooms)}
`,
  z.tuple([z.union([z.literal(0), z.literal(1), z.literal(2)]), z.array(z.string())]),
);

/**
 * Heartbeat: renew the lease. When the lease was missing (reaped, or Redis lost it), undo whatever
 * the instance hash still holds and re-apply the full local state given in ARGV.
 * KEYS: leases, version, info, instance, online, room hashes… ARGV: id, expiry, info JSON, n,
 * room names (n)…, force ('1' after a write failed midway), then [field, user, count]… (only read
 * when resyncing). Returns {0, {}} (renewed), {1, rooms touched} (resynced), {2, undeclared rooms}.
 */
const HEARTBEAT = new LuaScript(
  'presence_heartbeat',
  `${UNDO_INSTANCE}
local n = tonumber(ARGV[4])
local had = redis.call('ZSCORE', KEYS[1], ARGV[1])
if had and ARGV[5 + n] ~= '1' then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
  return {0, {}}
end
local absent = missing(KEYS[4])
if #absent > 0 then return {2, absent} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
local rooms = {}
undo(KEYS[4], rooms)
for i = 6 + n, #ARGV, 3 do
  local f, user, c = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  redis.call('HSET', KEYS[4], f, c)
  local room = parse(f)
  local gkey = KEYS[5]
  if room then
    gkey = roomKeys[room]
    rooms[room] = true
  end
  redis.call('HINCRBY', gkey, user, c)
end
redis.call('INCR', KEYS[2])
return {1, list(rooms)}
`,
  z.tuple([z.union([z.literal(0), z.literal(1), z.literal(2)]), z.array(z.string())]),
);

/** Read the version and counts together, so broadcasts can be ordered by version. */
const READ = new LuaScript(
  'presence_read',
  `
local out = {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('HLEN', KEYS[2])}
for i = 3, #KEYS do table.insert(out, redis.call('HLEN', KEYS[i])) end
return out
`,
  z.array(count).min(2),
);

export interface Counts {
  version: number;
  online: number;
  rooms: Map<string, number>;
}

export type PresenceStore = ReturnType<typeof createPresenceStore>;

interface Op {
  field: string;
  user: string;
  delta: number;
  globalKey: string;
}

export function createPresenceStore(
  redis: RedisClient,
  keys: Keys,
  opts: { instanceId: string; leaseMs: number; startedAt: string },
) {
  const id = opts.instanceId;
  /** The keys both the heartbeat and a reap of this instance start with. */
  const instanceKeys = () => [
    keys.presenceLeases,
    keys.presenceVersion,
    keys.presenceInfo,
    keys.presenceInstance(id),
    keys.presenceOnline,
  ];
  /** This instance's contributions: field → { user, count }. */
  const local = new Map<string, { user: string; count: number }>();

  function track(op: Op): void {
    const entry = local.get(op.field) ?? { user: op.user, count: 0 };
    entry.count += op.delta;
    if (entry.count <= 0) local.delete(op.field);
    else local.set(op.field, entry);
  }

  /** Set when a write may have half-happened (Redis went away): the next heartbeat resyncs. */
  let mustResync = false;

  /**
   * Applies ops to the local truth, then to Redis. Returns the user's cluster-wide count after each
   * op, or null when the lease was lost (the next heartbeat resyncs).
   */
  async function apply(ops: Op[]): Promise<number[] | null> {
    for (const op of ops) track(op);
    try {
      return await write(ops);
    } catch (err) {
      mustResync = true;
      throw err;
    }
  }

  async function write(ops: Op[]): Promise<number[] | null> {
    const args = [id];
    for (const op of ops) args.push(op.field, op.user, String(op.delta));
    const [held, ...counts] = await APPLY.run(
      redis,
      [keys.presenceInstance(id), keys.presenceLeases, keys.presenceVersion, ...ops.map((o) => o.globalKey)],
      args,
    );
    return held === 1 ? counts : null;
  }

  const online = (user: string, delta: number): Op => ({
    field: onlineField(user),
    user,
    delta,
    globalKey: keys.presenceOnline,
  });
  const inRoom = (room: string, user: string, delta: number): Op => ({
    field: roomField(room, user),
    user,
    delta,
    globalKey: keys.presenceRoom(room),
  });

  function localUsers(): number {
    let n = 0;
    for (const field of local.keys()) if (field.startsWith('u|')) n++;
    return n;
  }

  return {
    /** A socket of `user` connected here; resolves to the user's connection count cluster-wide. */
    connect: async (user: string) => (await apply([online(user, 1)]))?.[0] ?? null,
    /** A socket of `user` disconnected here (leaving its room too); resolves like connect. */
    disconnect: async (user: string, room: string | null) =>
      (await apply(room ? [inRoom(room, user, -1), online(user, -1)] : [online(user, -1)]))?.at(-1) ?? null,
    /** A socket moves from one room (or none) to another (or none), in one round trip. */
    move: (user: string, from: string | null, to: string | null) => {
      const ops: Op[] = [];
      if (from) ops.push(inRoom(from, user, -1));
      if (to) ops.push(inRoom(to, user, 1));
      return ops.length > 0 ? apply(ops) : Promise.resolve([]);
    },

    /** Renews the lease; re-applies all local state when it was lost. Returns the rooms it touched. */
    async heartbeat(info: { connections: number }): Promise<{ resynced: boolean; rooms: string[] }> {
      const now = Date.now();
      const infoJson = JSON.stringify({
        startedAt: opts.startedAt,
        connections: info.connections,
        users: localUsers(),
        lastSeen: new Date(now).toISOString(),
        leaseExpiresAt: new Date(now + opts.leaseMs).toISOString(),
      });
      const force = mustResync;
      mustResync = false;
      const triples: string[] = [];
      const rooms = new Set<string>();
      for (const [field, { user, count }] of local) {
        triples.push(field, user, String(count));
        const room = fieldRoom(field);
        if (room !== undefined) rooms.add(room);
      }
      try {
        for (let attempt = 0; ; attempt++) {
          const names = [...rooms];
          const [status, touched] = await HEARTBEAT.run(
            redis,
            [...instanceKeys(), ...names.map((r) => keys.presenceRoom(r))],
            [
              id,
              String(now + opts.leaseMs),
              infoJson,
              String(names.length),
              ...names,
              force ? '1' : '0',
              ...triples,
            ],
          );
          if (status !== 2) return { resynced: status === 1, rooms: touched };
          if (attempt >= MAX_ROOM_ROUNDS) throw new Error('presence heartbeat: room set kept changing');
          for (const r of touched) rooms.add(r);
        }
      } catch (err) {
        mustResync ||= force;
        throw err;
      }
    },

    /** Undo every instance whose lease has lapsed. Returns what was reaped and the rooms touched. */
    async reap(): Promise<{ instances: string[]; rooms: string[] }> {
      const now = Date.now();
      const dead = await redis.zRangeByScore(keys.presenceLeases, '-inf', now);
      const instances: string[] = [];
      const touched = new Set<string>();
      for (const dying of dead) {
        const rooms = new Set<string>();
        for (let attempt = 0; ; attempt++) {
          const names = [...rooms];
          const [status, out] = await REAP.run(
            redis,
            [
              keys.presenceLeases,
              keys.presenceVersion,
              keys.presenceInfo,
              keys.presenceInstance(dying),
              keys.presenceOnline,
              ...names.map((r) => keys.presenceRoom(r)),
            ],
            [String(now), dying, '', String(names.length), ...names],
          );
          if (status === 1) {
            instances.push(dying);
            for (const r of out) touched.add(r);
          }
          if (status !== 2) break;
          if (attempt >= MAX_ROOM_ROUNDS) throw new Error('presence reap: room set kept changing');
          for (const r of out) rooms.add(r);
        }
      }
      return { instances, rooms: [...touched] };
    },

    /** Leave the cluster now (graceful shutdown): expire our lease and reap ourselves. */
    async leave(): Promise<{ rooms: string[] }> {
      local.clear();
      await redis.zAdd(keys.presenceLeases, { score: 0, value: id });
      const { rooms } = await this.reap();
      return { rooms };
    },

    async counts(rooms: readonly string[]): Promise<Counts> {
      const [version = 0, online = 0, ...perRoom] = await READ.run(
        redis,
        [keys.presenceVersion, keys.presenceOnline, ...rooms.map((r) => keys.presenceRoom(r))],
        [],
      );
      const map = new Map<string, number>();
      rooms.forEach((r, i) => map.set(r, perRoom[i] ?? 0));
      return { version, online, rooms: map };
    },

    /** Online usernames across the cluster (sorted, at most `limit`). */
    async onlineUsers(limit: number): Promise<string[]> {
      const users: string[] = [];
      // HSCAN by cursor: the one scan every topology's client offers (no iterator helper on cluster).
      let cursor = '0';
      do {
        const reply = await redis.hScan(keys.presenceOnline, cursor, { COUNT: 500 });
        cursor = String(reply.cursor);
        for (const entry of reply.entries) users.push(entry.field);
      } while (cursor !== '0' && users.length < limit);
      return users.sort((a, b) => a.localeCompare(b)).slice(0, limit);
    },

    async roomMembers(rooms: readonly string[]): Promise<Map<string, number>> {
      return (await this.counts(rooms)).rooms;
    },

    async instances(): Promise<InstanceInfo[]> {
      const all = await redis.hGetAll(keys.presenceInfo);
      return Object.entries(all)
        .flatMap(([instance, raw]) => {
          const info = instanceInfoSchema.safeParse({ ...(JSON.parse(raw) as object), id: instance });
          return info.success ? [info.data] : [];
        })
        .sort((a, b) => a.id.localeCompare(b.id));
    },
  };
}
