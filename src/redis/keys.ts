/**
 * Hash tags of the presence buckets, precomputed so that bucket i's slot lies in the middle third
 * of the i-th of PRESENCE_BUCKETS equal ranges of the 16384 cluster slots: any cluster whose masters
 * own equal contiguous slot ranges (as `--cluster create` assigns them) gets an equal share of
 * buckets when the master count divides 48 (1, 2, 3, 4, 6, 8, 12, 16…), within one otherwise.
 * test/unit/keys.test.ts checks each tag's slot.
 */
// prettier-ignore
export const PRESENCE_TAGS = [
  'p0.52', 'p1.1q', 'p2.6h', 'p3.6c', 'p4.8y', 'p5.s', 'p6.9a', 'p7.h',
  'p8.6n', 'p9.bt', 'p10.2e', 'p11.z', 'p12.2b', 'p13.dz', 'p14.1m', 'p15.1f',
  'p16.7x', 'p17.28', 'p18.6', 'p19.1j', 'p20.9', 'p21.33', 'p22.2y', 'p23.1s',
  'p24.33', 'p25.0', 'p26.h', 'p27.o', 'p28.fp', 'p29.1v', 'p30.2k', 'p31.1a',
  'p32.11', 'p33.6s', 'p34.6o', 'p35.w', 'p36.6q', 'p37.p', 'p38.16', 'p39.6t',
  'p40.u', 'p41.13', 'p42.n', 'p43.6x', 'p44.10', 'p45.b', 'p46.1v', 'p47.2e',
] as const;

/** Presence is partitioned over this many buckets (hash tags): see store/presence.ts. */
export const PRESENCE_BUCKETS = PRESENCE_TAGS.length;

/**
 * The presence bucket of a username or a room name: FNV-1a (32 bit) of its UTF-16 code units,
 * modulo PRESENCE_BUCKETS. Stable across processes and versions (changing it moves live counts).
 */
export function presenceBucketOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % PRESENCE_BUCKETS;
}

/**
 * Every Redis key, pub/sub channel and key prefix the product uses, built from one prefix.
 * Keys of one room share the hash tag `{room}` and the keys of one presence bucket share that
 * bucket's tag, so every multi-key script touches one slot and runs unchanged on a Redis Cluster.
 * Room names and usernames cannot contain `{`, `}`, `:` or `|` (see protocol.ts), so no name
 * can reach another key.
 */
export function createKeys(prefix: string) {
  const room = (name: string) => `${prefix}room:{${name}}`;
  /** The key prefix of presence bucket `b`: `<prefix>presence:{<tag>}`. */
  const bucket = (b: number) => `${prefix}presence:{${PRESENCE_TAGS[b] ?? PRESENCE_TAGS[0]}}`;
  return {
    prefix,
    /**
     * Hash: lower-cased username → user record JSON. The original layout, one key on one slot: read
     * only to migrate its records to `user` keys (store/users.ts), never written.
     */
    users: `${prefix}users`,
    /** String: one user's record JSON, keyed by the name's identity (text-rules.ts `nameIdentity`). */
    user: (identity: string) => `${prefix}user:{${identity}}`,
    /** String: how many records of the `users` hash were migrated to `user` keys (skip when unchanged). */
    usersMigrated: `${prefix}users:migrated`,
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
    /**
     * Set: names of the private rooms and DMs in `rooms` (never in the directory nor by age), so the
     * directory's backfill can tell a complete index (rooms = by age + hidden). Same slot as `rooms`.
     */
    roomsHidden: `${prefix}{${prefix}rooms}:hidden`,
    /**
     * Sorted set, every score 0: the lower-cased usernames of a private room's or DM's members, paged
     * with ZRANGEBYLEX; capped at MEMBERS_MAX. In the room's slot, so the append script checks it.
     */
    roomMembers: (name: string) => `${room(name)}:members`,
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
    // ---- Issue 14: message changes, read markers, moderation ----
    /**
     * Sorted set beside the room's list (same slot): member = seq of a message edited or deleted,
     * score = the room's latest seq when the change happened; capped at HISTORY_SIZE. Catch-up reads it.
     */
    roomChanges: (name: string) => `${room(name)}:changes`,
    /** Sorted set beside the room's list (same slot): seqs of the room's messages that mention `user`; capped. */
    roomMentions: (name: string, user: string) => `${room(name)}:mentions:${user.toLowerCase()}`,
    /** Set beside the room's list (same slot): lower-cased users with a `roomMentions` key, purged with the room. */
    roomMentioned: (name: string) => `${room(name)}:mentioned`,
    /** Set beside the room's list (same slot): lower-cased users with a read marker of the room, cleared with the room. */
    roomReaders: (name: string) => `${room(name)}:readers`,
    /** Hash: room name → the last seq the user read there (only moves forward). */
    userReads: (username: string) => `${prefix}user:{${username.toLowerCase()}}:reads`,
    /** Set: the session ids a user signed in with (login, register), to end them all on suspension. */
    userSessions: (username: string) => `${prefix}user:{${username.toLowerCase()}}:sessions`,
    /**
     * String, present while the user is suspended. One key per user (in the user's slot), not one
     * set of names: every sign-in, socket handshake and history read asks, so one key would be a
     * hot slot on a Redis Cluster.
     */
    userSuspended: (username: string) => `${prefix}user:{${username.toLowerCase()}}:suspended`,
    // ---- end issue 14 ----
    /**
     * Counters with a TTL: a user's messages in the room in the current 1 s window (`steady`) and
     * beyond the steady rate in the current 10 s window (`burst`). In the room's slot, so the append
     * script checks the message rate limit in the same round trip (store/messages.ts).
     */
    roomMessageRate: (name: string, user: string, window: 'steady' | 'burst') =>
      `${room(name)}:rl:${window}:${user}`,
    /** connect-redis session prefix. */
    sessions: `${prefix}sess:`,
    /** Hash in bucket `b`: username (of that bucket) → live connection count across the cluster. */
    presenceOnline: (b: number) => `${bucket(b)}:online`,
    /** Sorted set in bucket `b`, every score 0: the online usernames of that bucket, paged by `who`. */
    presenceNames: (b: number) => `${bucket(b)}:names`,
    /** Hash in the room's bucket: username → connections in that room across the cluster. */
    presenceRoom: (name: string) => `${bucket(presenceBucketOf(name))}:room:${name}`,
    /** Hash in bucket `b`: one instance's contributions there (`u|user`, `r|room|user`) → count, to undo them when it dies. */
    presenceInstance: (b: number, id: string) => `${bucket(b)}:instance:${id}`,
    /** Sorted set in bucket `b`: instance id → lease expiry (ms since epoch). */
    presenceLeases: (b: number) => `${bucket(b)}:leases`,
    /** Counter of bucket `b`, bumped by every presence change there; orders count broadcasts. */
    presenceVersion: (b: number) => `${bucket(b)}:version`,
    /** Hash: instance id → JSON {startedAt, connections, users}, for the status page (single-key use only). */
    presenceInfo: `${prefix}presence:info`,
    /** Socket.IO Redis adapter channel prefix. */
    adapterChannel: `${prefix}socket.io`,
    /** Channel the readiness probe sends itself a message over. */
    readyChannel: (instanceId: string) => `${prefix}ready:${instanceId}`,
    /** rate-limiter-flexible key prefix for one limiter. */
    rateLimit: (name: string) => `${prefix}rl:${name}`,
  };
}

export type Keys = ReturnType<typeof createKeys>;
