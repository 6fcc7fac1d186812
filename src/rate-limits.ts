import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig } from './config.js';
import { AppError } from './errors.js';
import type { RedisClient } from './redis/clients.js';
import type { Keys } from './redis/keys.js';

interface Consumer {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
}

export type LimitName =
  | 'login_pair'
  | 'login_account'
  | 'login_ip'
  | 'register_ip'
  | 'message'
  | 'room_create'
  | 'connect_ip'
  | 'connect_user'
  | 'invite'
  | 'message_change';

export interface RateLimits {
  /** Consumes a point; throws `rate_limited` with the wait when none is left. */
  consume(
    name: 'register_ip' | 'room_create' | 'connect_ip' | 'connect_user' | 'invite' | 'message_change',
    key: string,
  ): Promise<void>;
  /**
   * A refusal decided elsewhere (the message limit, checked by the append script in
   * store/messages.ts): counts it and throws `rate_limited` with the wait.
   */
  refuse(name: 'message', retryAfterMs: number): never;
  /**
   * Before a password is checked: throws `rate_limited` when `address` has used up its failures on
   * `account`, when the address has too many failures overall, or when `address` has failed on
   * `account` before and the account's progressive delay is running. An address that has not failed
   * on the account is never delayed by the account's delay (see README, "Rate limits").
   */
  beforeLogin(account: string, address: string): Promise<void>;
  /** After a wrong password: counts it for the pair, the address and the account; extends the account's delay. */
  loginFailed(account: string, address: string): Promise<void>;
  /** After the right password: forgets the pair's failures. */
  loginSucceeded(account: string, address: string): Promise<void>;
}

const MESSAGES: Record<LimitName, string> = {
  login_pair: 'Too many failed sign-ins for this account from your address; wait and try again.',
  login_account: 'This account had many failed sign-ins; wait a moment and try again.',
  login_ip: 'Too many failed sign-ins from your address; wait and try again.',
  register_ip: 'Too many accounts created from your address; try again later.',
  message: 'You are sending messages too fast; slow down.',
  room_create: 'You are creating rooms too fast; wait a minute.',
  connect_ip: 'Too many connections from your address; wait a minute.',
  connect_user: 'Too many connections for your account; wait a minute.',
  invite: 'You are inviting people too fast; wait a minute.',
  message_change: 'You are editing or deleting messages too fast; slow down.',
};

function limited(name: LimitName, res: RateLimiterRes): AppError {
  return new AppError('rate_limited', MESSAGES[name], Math.max(1, Math.ceil(res.msBeforeNext)));
}

const exhausted = (res: RateLimiterRes | null, points: number): res is RateLimiterRes =>
  res !== null && res.consumedPoints >= points && res.msBeforeNext > 0;

/** Effectively unlimited points: the account counter only counts, it never refuses. */
const COUNT_ONLY = 1_000_000_000;

/**
 * Seconds the account waits after its `failures`-th failure in the window: none up to `free`, then
 * 1, 2, 4, … up to `maxS`.
 */
export function accountDelayS(failures: number, free: number, maxS: number): number {
  if (failures <= free) return 0;
  return Math.min(maxS, 2 ** Math.min(30, failures - free - 1));
}

/**
 * Limits shared by every instance through Redis (rate-limiter-flexible); `RATE_LIMITS=off` makes them
 * no-ops. The message limit is not here: the append script applies it (store/messages.ts), and
 * `refuse` reports its refusals.
 */
export function createRateLimits(
  redis: RedisClient,
  keys: Keys,
  cfg: RateLimitConfig,
  onLimited: (name: LimitName) => void,
): RateLimits {
  const refuseMessage = (name: 'message', retryAfterMs: number): never => {
    onLimited(name);
    throw new AppError('rate_limited', MESSAGES[name], Math.max(1, Math.ceil(retryAfterMs)));
  };
  if (!cfg.enabled) {
    const none = async () => undefined;
    return {
      consume: none,
      refuse: refuseMessage,
      beforeLogin: none,
      loginFailed: none,
      loginSucceeded: none,
    };
  }
  const make = (name: string, points: number, duration: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      useRedisPackage: true,
      keyPrefix: keys.rateLimit(name),
      points,
      duration,
    });
  const consumers: Record<Parameters<RateLimits['consume']>[0], Consumer> = {
    register_ip: make('register-ip', cfg.registerPerIp, cfg.registerWindowS),
    room_create: make('room-create', cfg.roomCreatePerMin, 60),
    connect_ip: make('connect-ip', cfg.connectPerIpPerMin, 60),
    connect_user: make('connect-user', cfg.connectPerUserPerMin, 60),
    invite: make('invite', cfg.invitePerMin, 60),
    // Edits and deletions (issue 14): the message burst per 10 s, per user. Rare next to messages,
    // so rate-limiter-flexible's own round trip is fine here.
    message_change: make('message-change', cfg.messageBurst, 10),
  };
  const loginPair = make('login-pair', cfg.loginPerUser, cfg.loginWindowS);
  const loginIp = make('login-ip', cfg.loginPerIp, cfg.loginWindowS);
  const loginAccount = make('login-account', COUNT_ONLY, cfg.loginWindowS);
  // Blocked (block()) for the current delay; never consumed.
  const loginWait = make('login-wait', 1, 1);
  // Accounts are identities (ASCII, no `|`), so the pair key cannot be ambiguous.
  const pairKey = (account: string, address: string) => `${account}|${address}`;

  const refuse = (name: LimitName, res: RateLimiterRes): never => {
    onLimited(name);
    throw limited(name, res);
  };

  return {
    refuse: refuseMessage,
    async consume(name, key) {
      try {
        await consumers[name].consume(key);
      } catch (err) {
        if (err instanceof RateLimiterRes) refuse(name, err);
        throw err;
      }
    },
    async beforeLogin(account, address) {
      const [pair, ip, wait] = await Promise.all([
        loginPair.get(pairKey(account, address)),
        loginIp.get(address),
        loginWait.get(account),
      ]);
      if (exhausted(pair, cfg.loginPerUser)) refuse('login_pair', pair);
      if (exhausted(ip, cfg.loginPerIp)) refuse('login_ip', ip);
      const freshAddress = pair === null || pair.consumedPoints === 0;
      if (!freshAddress && exhausted(wait, 1)) refuse('login_account', wait);
    },
    async loginFailed(account, address) {
      const counted = await Promise.allSettled([
        loginAccount.consume(account),
        loginPair.consume(pairKey(account, address)),
        loginIp.consume(address),
      ]);
      const first = counted[0];
      if (first.status !== 'fulfilled') return;
      const delayS = accountDelayS(first.value.consumedPoints, cfg.loginPerUser, cfg.loginDelayMaxS);
      if (delayS > 0) await loginWait.block(account, delayS);
    },
    async loginSucceeded(account, address) {
      await loginPair.delete(pairKey(account, address));
    },
  };
}
