import { hostname } from 'node:os';
import { z } from 'zod';

/** Development-only session secret; refused when NODE_ENV=production. */
export const DEV_SESSION_SECRET = 'dev-only-insecure-session-secret-change-me!';

/**
 * BCRYPT_ROUNDS default: 11 is one doubling above the accepted minimum of 10. It costs about
 * 0.1 s of one core per hash here, off the event loop (the password worker pool), which keeps a login
 * storm of 100 from queueing for more than a few seconds on two cores while making offline guessing
 * twice as slow as the minimum.
 */
export const DEFAULT_BCRYPT_ROUNDS = 11;

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['true', '1', 'yes', 'on'].includes(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every environment variable the server reads, with its default. The README's table mirrors this. */
export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(3000),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  REDIS_MODE: z.enum(['standalone', 'cluster', 'sentinel']).default('standalone'),
  REDIS_CLUSTER_NODES: z.string().optional(),
  REDIS_SENTINELS: z.string().optional(),
  REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 of letters, digits, _ . -')
    .optional(),
  REDIS_USERNAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_TLS: bool.default(false),
  REDIS_COMMAND_TIMEOUT_MS: int(0, 600_000).default(5_000),
  REDIS_ACK_REPLICAS: z.union([z.literal('auto'), int(0, 16)]).default('auto'),
  REDIS_ACK_TIMEOUT_MS: int(1, 60_000).optional(),
  REDIS_ACK_GRACE_MS: int(0, 600_000).default(5_000),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_.-]{0,64}$/, 'letters, digits and : _ . - only')
    .default('chat:'),
  SESSION_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  SESSION_TTL_S: int(4, 90 * 24 * 3600).default(7 * 24 * 3600),
  SESSION_SWEEP_MS: int(100, 600_000).default(5_000),
  INSTANCE_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, '1-64 of letters, digits, _ . -')
    .optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: z.string().default('false'),
  COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  ALLOWED_ORIGINS: z.string().default(''),
  ADMIN_USERS: z
    .string()
    .regex(/^[A-Za-z0-9_.,\s-]*$/, 'comma-separated usernames (letters, digits, _ . -)')
    .default(''),
  EDIT_WINDOW_MS: int(0, 30 * 24 * 3600 * 1000).default(15 * 60 * 1000),
  HISTORY_SIZE: int(1, 10_000).default(100),
  HISTORY_ON_JOIN: int(1, 10_000).default(50),
  BCRYPT_ROUNDS: int(10, 15).default(DEFAULT_BCRYPT_ROUNDS),
  BCRYPT_WORKERS: int(1, 16).default(1),
  ADAPTER: z.enum(['auto', 'sharded', 'classic']).default('auto'),
  PRESENCE_LEASE_MS: int(2_000, 600_000).default(9_000),
  PRESENCE_HEARTBEAT_MS: int(200, 60_000).default(2_000),
  DEDUPE_WINDOW_S: int(10, 7 * 24 * 3600).default(600),
  SEQ_NOTICE_MS: int(500, 3_600_000).default(30_000),
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  SHUTDOWN_TIMEOUT_MS: int(1_000, 120_000).default(10_000),
  DRAIN_WINDOW_MS: int(0, 60_000).default(2_000),
  RATE_LIMITS: z.enum(['on', 'off']).default('on'),
  RL_LOGIN_PER_USER: int(1, 1_000_000).default(10),
  RL_LOGIN_DELAY_MAX_S: int(1, 3600).default(60),
  RL_LOGIN_PER_IP: int(1, 1_000_000).default(200),
  RL_LOGIN_WINDOW_S: int(1, 86_400).default(900),
  RL_REGISTER_PER_IP: int(1, 1_000_000).default(100),
  RL_REGISTER_WINDOW_S: int(1, 86_400).default(3600),
  RL_MESSAGE_BURST: int(1, 1_000_000).default(20),
  RL_MESSAGE_PER_S: z.coerce.number().positive().max(1_000_000).default(5),
  RL_ROOM_CREATE_PER_MIN: int(1, 1_000_000).default(10),
  RL_INVITE_PER_MIN: int(1, 1_000_000).default(30),
  RL_CONNECT_PER_IP_PER_MIN: int(1, 1_000_000).default(1200),
  RL_CONNECT_PER_USER_PER_MIN: int(1, 1_000_000).default(30),
  STATIC_MAX_AGE_S: int(0, 31_536_000).default(300),
  EXPOSE_INSTANCE_ID: bool.default(true),
});

export type RawEnv = Record<string, string | undefined>;

export interface RateLimitConfig {
  enabled: boolean;
  /** Failed sign-ins per account from one address per window; also where the account's delays start. */
  loginPerUser: number;
  /** Cap of the account-wide progressive delay, seconds. */
  loginDelayMaxS: number;
  loginPerIp: number;
  loginWindowS: number;
  registerPerIp: number;
  registerWindowS: number;
  messageBurst: number;
  messagePerS: number;
  roomCreatePerMin: number;
  /** Invitations to private rooms per user per minute. */
  invitePerMin: number;
  connectPerIpPerMin: number;
  connectPerUserPerMin: number;
}

/** Where Redis is and how to reach it (src/redis/clients.ts builds the clients from this). */
export interface RedisTopology {
  mode: 'standalone' | 'cluster' | 'sentinel';
  /** standalone: the server. */
  url: string;
  /** cluster: seed nodes (`redis://` / `rediss://` URLs); the rest of the cluster is discovered. */
  clusterNodes: readonly string[];
  /** sentinel: the sentinels to ask where the primary is. */
  sentinels: readonly { host: string; port: number }[];
  /** sentinel: the primary's name as the sentinels know it. */
  sentinelMaster: string;
  /** ACL user and password for every node (a URL's own credentials win for that URL). */
  username: string | undefined;
  password: string | undefined;
  /** TLS to every node: REDIS_TLS=true, or any `rediss://` URL. */
  tls: boolean;
  /** A command unanswered for this long fails with `unavailable` (0: no deadline), ms. */
  commandTimeoutMs: number;
  /**
   * Replicas that must hold a message before it is acknowledged (WAIT after the append; see
   * src/redis/clients.ts DurableWrites). `auto`: 1 in cluster and sentinel modes when every
   * primary has a replica at start, else 0.
   */
  ackReplicas: number | 'auto';
  /** How long an append waits for those replicas before answering `unavailable`, ms. */
  ackTimeoutMs: number;
  /** How long a primary without replicas refuses appends before acking them unconfirmed, ms (0: never). */
  ackGraceMs: number;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  redisUrl: string;
  redis: Readonly<RedisTopology>;
  redisPrefix: string;
  sessionSecret: string;
  /** True when the development secret stands in for a missing SESSION_SECRET. */
  sessionSecretIsDefault: boolean;
  sessionTtlS: number;
  /** How often each instance checks its sockets' sessions (and touches the active ones), ms. */
  sessionSweepMs: number;
  instanceId: string;
  logLevel: string;
  /** Value handed to express's `trust proxy` setting. */
  trustProxy: boolean | number | string;
  cookieSecure: 'auto' | boolean;
  allowedOrigins: readonly string[];
  /** Operators (lower-cased usernames, ADMIN_USERS): may delete any room or message and suspend users. */
  adminUsers: ReadonlySet<string>;
  /** How long after sending a sender may edit or delete their own message, ms (0: never). */
  editWindowMs: number;
  historySize: number;
  historyOnJoin: number;
  bcryptRounds: number;
  /** Low-priority threads that hash passwords (see store/passwords.ts). */
  bcryptWorkers: number;
  adapter: 'auto' | 'sharded' | 'classic';
  presenceLeaseMs: number;
  presenceHeartbeatMs: number;
  dedupeWindowS: number;
  /** How often each instance tells its rooms' members the latest {seq, epoch} (seq-notices.ts), ms. */
  seqNoticeMs: number;
  metricsToken: string | undefined;
  shutdownTimeoutMs: number;
  drainWindowMs: number;
  rateLimits: RateLimitConfig;
  staticMaxAgeS: number;
  exposeInstanceId: boolean;
}

/** Thrown with every problem found, so one start shows them all. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

function parseTrustProxy(raw: string): boolean | number | string {
  if (raw === 'true') return true;
  if (raw === 'false' || raw === '') return false;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

function parseOrigins(raw: string, problems: string[]): string[] {
  const origins: string[] = [];
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    try {
      const u = new URL(item);
      origins.push(u.origin);
    } catch {
      problems.push(`ALLOWED_ORIGINS: "${item}" is not an origin like https://chat.example.com`);
    }
  }
  return origins;
}

/** REDIS_* topology settings: every problem goes to `problems`. */
function parseTopology(e: z.output<typeof envSchema>, problems: string[]): RedisTopology {
  const list = (raw: string | undefined) =>
    (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const clusterNodes = list(e.REDIS_CLUSTER_NODES);
  for (const node of clusterNodes) {
    if (!/^rediss?:\/\/[^/\s]+:\d{1,5}\/?$/.test(node)) {
      problems.push(`REDIS_CLUSTER_NODES: "${node}" is not a URL like redis://host:port`);
    }
  }
  const sentinels: { host: string; port: number }[] = [];
  for (const item of list(e.REDIS_SENTINELS)) {
    const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(item);
    const port = Number(m?.[2]);
    if (!m?.[1] || port < 1 || port > 65535) {
      problems.push(`REDIS_SENTINELS: "${item}" is not host:port`);
    } else sentinels.push({ host: m[1].replace(/^\[|\]$/g, ''), port });
  }
  if (e.REDIS_MODE === 'cluster' && clusterNodes.length === 0) {
    problems.push(
      'REDIS_CLUSTER_NODES: required when REDIS_MODE=cluster (comma-separated redis://host:port)',
    );
  }
  if (e.REDIS_MODE === 'sentinel') {
    if (list(e.REDIS_SENTINELS).length === 0) {
      problems.push('REDIS_SENTINELS: required when REDIS_MODE=sentinel (comma-separated host:port)');
    }
    if (!e.REDIS_SENTINEL_MASTER) {
      problems.push("REDIS_SENTINEL_MASTER: required when REDIS_MODE=sentinel (the primary's name)");
    }
  }
  // Unset: 1 s, at most half the command deadline (the WAIT must answer before the deadline does).
  const commandMs = e.REDIS_COMMAND_TIMEOUT_MS;
  const ackTimeoutMs =
    e.REDIS_ACK_TIMEOUT_MS ??
    (commandMs > 0 ? Math.max(1, Math.min(1_000, Math.floor(commandMs / 2))) : 1_000);
  if (e.REDIS_ACK_TIMEOUT_MS !== undefined && commandMs > 0 && e.REDIS_ACK_TIMEOUT_MS >= commandMs) {
    problems.push(
      `REDIS_ACK_TIMEOUT_MS (${e.REDIS_ACK_TIMEOUT_MS}) must be below REDIS_COMMAND_TIMEOUT_MS (${e.REDIS_COMMAND_TIMEOUT_MS})`,
    );
  }
  if (e.REDIS_MODE !== 'cluster' && clusterNodes.length > 0) {
    problems.push('REDIS_CLUSTER_NODES: only read when REDIS_MODE=cluster');
  }
  if (e.REDIS_MODE !== 'sentinel' && (e.REDIS_SENTINELS || e.REDIS_SENTINEL_MASTER)) {
    problems.push('REDIS_SENTINELS / REDIS_SENTINEL_MASTER: only read when REDIS_MODE=sentinel');
  }
  const urls = e.REDIS_MODE === 'cluster' ? clusterNodes : [e.REDIS_URL];
  return {
    mode: e.REDIS_MODE,
    url: e.REDIS_URL,
    clusterNodes,
    sentinels,
    sentinelMaster: e.REDIS_SENTINEL_MASTER ?? '',
    username: e.REDIS_USERNAME,
    password: e.REDIS_PASSWORD,
    tls: e.REDIS_TLS || (e.REDIS_MODE !== 'sentinel' && urls.some((u) => u.startsWith('rediss:'))),
    commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
    ackReplicas: e.REDIS_ACK_REPLICAS,
    ackTimeoutMs,
    ackGraceMs: e.REDIS_ACK_GRACE_MS,
  };
}

/** The only reader of the environment: validates everything and returns a frozen config. */
export function loadConfig(env: RawEnv): Readonly<Config> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.SESSION_SECRET) {
    problems.push('SESSION_SECRET: required when NODE_ENV=production (at least 32 random characters)');
  }
  if (e.HISTORY_ON_JOIN > e.HISTORY_SIZE) {
    problems.push(`HISTORY_ON_JOIN (${e.HISTORY_ON_JOIN}) must not exceed HISTORY_SIZE (${e.HISTORY_SIZE})`);
  }
  if (e.PRESENCE_HEARTBEAT_MS * 2 > e.PRESENCE_LEASE_MS) {
    problems.push('PRESENCE_HEARTBEAT_MS must be at most half of PRESENCE_LEASE_MS');
  }
  const allowedOrigins = parseOrigins(e.ALLOWED_ORIGINS, problems);
  const redis = parseTopology(e, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  const config: Config = {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    redisUrl: e.REDIS_URL,
    redis: Object.freeze(redis),
    redisPrefix: e.REDIS_PREFIX,
    sessionSecret: e.SESSION_SECRET ?? DEV_SESSION_SECRET,
    sessionSecretIsDefault: !e.SESSION_SECRET,
    sessionTtlS: e.SESSION_TTL_S,
    sessionSweepMs: e.SESSION_SWEEP_MS,
    instanceId: e.INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    logLevel: e.LOG_LEVEL,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    cookieSecure: e.COOKIE_SECURE === 'auto' ? 'auto' : e.COOKIE_SECURE === 'true',
    allowedOrigins: Object.freeze(allowedOrigins),
    adminUsers: new Set(
      e.ADMIN_USERS.split(',')
        .map((u) => u.trim().toLowerCase())
        .filter((u) => u.length > 0),
    ),
    editWindowMs: e.EDIT_WINDOW_MS,
    historySize: e.HISTORY_SIZE,
    historyOnJoin: e.HISTORY_ON_JOIN,
    bcryptRounds: e.BCRYPT_ROUNDS,
    bcryptWorkers: e.BCRYPT_WORKERS,
    adapter: e.ADAPTER,
    presenceLeaseMs: e.PRESENCE_LEASE_MS,
    presenceHeartbeatMs: e.PRESENCE_HEARTBEAT_MS,
    dedupeWindowS: e.DEDUPE_WINDOW_S,
    seqNoticeMs: e.SEQ_NOTICE_MS,
    metricsToken: e.METRICS_TOKEN,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    drainWindowMs: e.DRAIN_WINDOW_MS,
    rateLimits: Object.freeze({
      enabled: e.RATE_LIMITS === 'on',
      loginPerUser: e.RL_LOGIN_PER_USER,
      loginDelayMaxS: e.RL_LOGIN_DELAY_MAX_S,
      loginPerIp: e.RL_LOGIN_PER_IP,
      loginWindowS: e.RL_LOGIN_WINDOW_S,
      registerPerIp: e.RL_REGISTER_PER_IP,
      registerWindowS: e.RL_REGISTER_WINDOW_S,
      messageBurst: e.RL_MESSAGE_BURST,
      messagePerS: e.RL_MESSAGE_PER_S,
      roomCreatePerMin: e.RL_ROOM_CREATE_PER_MIN,
      invitePerMin: e.RL_INVITE_PER_MIN,
      connectPerIpPerMin: e.RL_CONNECT_PER_IP_PER_MIN,
      connectPerUserPerMin: e.RL_CONNECT_PER_USER_PER_MIN,
    }),
    staticMaxAgeS: e.STATIC_MAX_AGE_S,
    exposeInstanceId: e.EXPOSE_INSTANCE_ID,
  };
  return Object.freeze(config);
}
