import type { RedisClient } from '../redis/clients.js';
import type { Keys } from '../redis/keys.js';

/** Session ids kept per user before the ones whose session is gone are dropped. */
const SESSIONS_PRUNE_AT = 32;

export type ModerationStore = ReturnType<typeof createModerationStore>;

/**
 * Suspension (issue 14): a flag per user (its own key, keys.ts userSuspended), and per user the session ids they signed in
 * with, so every session of a suspended user can be deleted from the session store (connect-redis
 * keys `keys.sessions + id`; one command per key, since sessions sit on different cluster slots).
 */
export function createModerationStore(redis: RedisClient, keys: Keys) {
  return {
    async isSuspended(user: string): Promise<boolean> {
      return Number(await redis.exists(keys.userSuspended(user))) === 1;
    },

    async setSuspended(user: string, suspended: boolean): Promise<void> {
      if (suspended) await redis.set(keys.userSuspended(user), '1');
      else await redis.del(keys.userSuspended(user));
    },

    /**
     * Records a session id of `user` (at login and registration). Past SESSIONS_PRUNE_AT ids, the
     * ones whose session no longer exists are dropped, so the set stays about the size of the
     * user's live sessions.
     */
    async rememberSession(user: string, sessionId: string): Promise<void> {
      const key = keys.userSessions(user);
      await redis.sAdd(key, sessionId);
      if ((await redis.sCard(key)) <= SESSIONS_PRUNE_AT) return;
      const ids = await redis.sMembers(key);
      const alive = await Promise.all(ids.map((id) => redis.exists(keys.sessions + id)));
      const dead = ids.filter((_, i) => Number(alive[i]) === 0);
      if (dead.length > 0) await redis.sRem(key, dead);
    },

    /** Deletes every recorded session of `user` from the session store; resolves to their ids. */
    async endSessions(user: string): Promise<string[]> {
      const key = keys.userSessions(user);
      const ids = await redis.sMembers(key);
      await Promise.all(ids.map((id) => redis.del(keys.sessions + id)));
      if (ids.length > 0) await redis.sRem(key, ids);
      return ids;
    },
  };
}
