/**
 * Every Redis key, pub/sub channel and key prefix the product uses, built from one prefix.
 * Keys of one room share the hash tag `{room}` and all presence keys share `{presence}`, so every
 * multi-key script touches one slot and would run unchanged on a Redis Cluster.
 * Room names and usernames cannot contain `{`, `}`, `:` or `|` (see protocol.ts), so no name
 * can reach another key.
 */
export function createKeys(prefix: string) {
  const room = (name: string) => `${prefix}room:{${name}}`;
  const presence = `${prefix}{presence}`;
  return {
    prefix,
    /** Hash: lower-cased username → user record JSON. */
    users: `${prefix}users`,
    /** Hash: room name → room JSON; created with HSETNX. */
    rooms: `${prefix}rooms`,
    /**
     * Hash: room name identity (text-rules.ts `nameIdentity`) → room name. Its hash tag is the whole
     * `rooms` key name (a prefix holds no braces), so both keys share one slot and one script writes both.
     */
    roomIdentities: `${prefix}{${prefix}rooms}:identities`,
    /**
     * Sorted set, every score 0: the room directory, one member per name identity, paged and
     * prefix-searched with ZRANGEBYLEX. Same slot as `rooms` (see roomIdentities).
     */
    roomDirectory: `${prefix}{${prefix}rooms}:directory`,
    /** Sorted set: room name → creation time (ms since epoch); the newest rooms for `update-rooms`. Same slot as `rooms`. */
    roomsByAge: `${prefix}{${prefix}rooms}:by-age`,
    /** Sorted set: room name → when the user last joined or created it (ms); capped at MY_ROOMS_MAX. */
    userRooms: (username: string) => `${prefix}user:{${username.toLowerCase()}}:rooms`,
    /** List, newest first, capped at HISTORY_SIZE. */
    roomMessages: (name: string) => `${room(name)}:messages`,
    /** Counter: the room's last message sequence. */
    roomSeq: (name: string) => `${room(name)}:seq`,
    /**
     * Hash beside the counter (same slot): `id` (the sequence's epoch), `chain` (the epochs before,
     * each with the counter at which it ended) and `boot` (the replication id of the Redis primary
     * that vouches for the counter). See store/messages.ts.
     */
    roomEpoch: (name: string) => `${room(name)}:epoch`,
    /** String with a TTL: the stored message a user's clientId produced, for retries. */
    roomDedupe: (name: string, user: string, clientId: string) => `${room(name)}:dedupe:${user}:${clientId}`,
    /**
     * Counters with a TTL: a user's messages in the room in the current 1 s window (`steady`) and
     * beyond the steady rate in the current 10 s window (`burst`). In the room's slot, so the append
     * script checks the message rate limit in the same round trip (store/messages.ts).
     */
    roomMessageRate: (name: string, user: string, window: 'steady' | 'burst') =>
      `${room(name)}:rl:${window}:${user}`,
    /** connect-redis session prefix. */
    sessions: `${prefix}sess:`,
    /** Hash: username → live connection count across the cluster. */
    presenceOnline: `${presence}:online`,
    /** Hash: username → connections in that room across the cluster. */
    presenceRoom: (name: string) => `${presence}:room:${name}`,
    /** Hash: one instance's own contributions (`u|user`, `r|room|user`) → count, to undo them when it dies. */
    presenceInstance: (id: string) => `${presence}:instance:${id}`,
    /** Sorted set: instance id → lease expiry (ms since epoch). */
    presenceLeases: `${presence}:leases`,
    /** Hash: instance id → JSON {startedAt, connections, users}, for the status page. */
    presenceInfo: `${presence}:info`,
    /** Counter bumped by every presence change; orders count broadcasts across instances. */
    presenceVersion: `${presence}:version`,
    /** Socket.IO Redis adapter channel prefix. */
    adapterChannel: `${prefix}socket.io`,
    /** Channel the readiness probe sends itself a message over. */
    readyChannel: (instanceId: string) => `${prefix}ready:${instanceId}`,
    /** rate-limiter-flexible key prefix for one limiter. */
    rateLimit: (name: string) => `${prefix}rl:${name}`,
  };
}

export type Keys = ReturnType<typeof createKeys>;
