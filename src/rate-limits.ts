import { BurstyRateLimiter, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitConfig } from './config.js';
import { AppError } from './errors.js';
import type { RedisClient } from './redis/clients.js';
import type { Keys } from './redis/keys.js';

interface Consumer {
  consume(key: string, points?: number): Promise<RateLimiterRes>;
}
interface Limiter extends Consumer {
  get(key: string): Promise<RateLimiterRes | null>;
  delete(key: string): Promise<boolean>;
}

export type LimitName = 'login_user' | 'login_ip' | 'register_ip' | 'message' | 'room_create' | 'connect_ip';

export interface RateLimits {
  /** Consumes a point; throws `rate_limited` with the wait when none is left. */
  consume(name: LimitName, key: string): Promise<void>;
  /** Throws `rate_limited` when `name` is already exhausted for `key`, without consuming. */
  check(name: 'login_user' | 'login_ip', key: string): Promise<void>;
  reset(name: 'login_user', key: string): Promise<void>;
}

const MESSAGES: Record<LimitName, string> = {
  login_user: 'Too many failed sign-ins for this account; wait and try again.',
  login_ip: 'Too many failed sign-ins from your address; wait and try again.',
  register_ip: 'Too many accounts created from your address; try again later.',
  message: 'You are sending messages too fast; slow down.',
  room_create: 'You are creating rooms too fast; wait a minute.',
  connect_ip: 'Too many connections from your address; wait a minute.',
};

function limited(name: LimitName, res: RateLimiterRes): AppError {
  return new AppError('rate_limited', MESSAGES[name], Math.max(1, Math.ceil(res.msBeforeNext)));
}

/** Limits shared by every instance through Redis (rate-limiter-flexible); `RATE_LIMITS=off` makes them no-ops. */
export function createRateLimits(
  redis: RedisClient,
  keys: Keys,
  cfg: RateLimitConfig,
  onLimited: (name: LimitName) => void,
): RateLimits {
  if (!cfg.enabled) {
    return { consume: async () => undefined, check: async () => undefined, reset: async () => undefined };
  }
  const make = (name: string, points: number, duration: number) =>
    new RateLimiterRedis({
      storeClient: redis,
      useRedisPackage: true,
      keyPrefix: keys.rateLimit(name),
      points,
      duration,
    });
  const messageSteady = make('message', Math.max(1, Math.ceil(cfg.messagePerS)), 1);
  const messageBurst = make('message-burst', cfg.messageBurst, 10);
  const limiters: Record<Exclude<LimitName, 'message'>, Limiter> = {
    login_user: make('login-user', cfg.loginPerUser, cfg.loginWindowS),
    login_ip: make('login-ip', cfg.loginPerIp, cfg.loginWindowS),
    register_ip: make('register-ip', cfg.registerPerIp, cfg.registerWindowS),
    room_create: make('room-create', cfg.roomCreatePerMin, 60),
    connect_ip: make('connect-ip', cfg.connectPerIpPerMin, 60),
  };
  const consumers: Record<LimitName, Consumer> = {
    ...limiters,
    message: new BurstyRateLimiter(messageSteady, messageBurst),
  };

  return {
    async consume(name, key) {
      try {
        await consumers[name].consume(key);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          onLimited(name);
          throw limited(name, err);
        }
        throw err;
      }
    },
    async check(name, key) {
      const res = await limiters[name].get(key);
      if (res && res.remainingPoints <= 0 && res.consumedPoints > 0) {
        onLimited(name);
        throw limited(name, res);
      }
    },
    async reset(name, key) {
      await limiters[name].delete(key);
    },
  };
}
