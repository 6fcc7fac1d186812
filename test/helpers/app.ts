import { inject } from 'vitest';
import { io as ioClient, type Socket } from 'socket.io-client';
import { loadConfig, type RawEnv } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createServer, type ChatServerHandle } from '../../src/server.js';
import { uniquePrefix } from './prefix.js';

export const TEST_SECRET = 'integration-test-session-secret-0123456789';
export const METRICS_TOKEN = 'metrics-token-for-tests-0123456789';

export interface TestApp {
  url: string;
  server: ChatServerHandle;
  prefix: string;
  close(): Promise<void>;
}

/**
 * One real instance in this process on a free port, against the integration Redis, under a fresh
 * key prefix. Instances started with the same `prefix` form one cluster (shared adapter channels).
 */
export async function startApp(opts: { name: string; prefix?: string; env?: RawEnv }): Promise<TestApp> {
  const prefix = opts.prefix ?? uniquePrefix(opts.name);
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    SESSION_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    BCRYPT_ROUNDS: '10',
    RATE_LIMITS: 'off',
    METRICS_TOKEN,
    DRAIN_WINDOW_MS: '0',
    PRESENCE_HEARTBEAT_MS: '500',
    PRESENCE_LEASE_MS: '2000',
    ...opts.env,
  });
  const server = await createServer(
    config,
    createLogger({ instanceId: config.instanceId, level: config.logLevel }),
  );
  const port = await server.listen();
  return { url: `http://127.0.0.1:${port}`, server, prefix, close: () => server.close() };
}

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  body: T;
  cookie: string | undefined;
  headers: Headers;
}

export async function postJson(
  url: string,
  body: unknown,
  cookie?: string,
  raw = false,
): Promise<HttpResult> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return toResult(res);
}

export async function getJson(
  url: string,
  cookie?: string,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return toResult(await fetch(url, { headers: { ...headers, ...(cookie ? { cookie } : {}) } }));
}

async function toResult(res: Response): Promise<HttpResult> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  const setCookie = res.headers.get('set-cookie');
  return { status: res.status, body, cookie: setCookie?.split(';')[0], headers: res.headers };
}

let counter = 0;
/** A unique valid username. */
export function uniqueUser(base = 'user'): string {
  counter += 1;
  return `${base}${counter}_${Math.random().toString(36).slice(2, 8)}`.slice(0, 32);
}

/** Registers a new user and returns its session cookie. */
export async function signUp(
  url: string,
  username = uniqueUser(),
  password = 'password123',
): Promise<{ username: string; cookie: string }> {
  const res = await postJson(`${url}/auth/register`, { username, password });
  if (res.status !== 201 || !res.cookie)
    throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { username, cookie: res.cookie };
}

/** A connected socket for a session cookie (rejects with the connect_error). */
export function connect(
  url: string,
  cookie: string | undefined,
  extra: { origin?: string } = {},
): Promise<Socket> {
  const headers: Record<string, string> = {};
  if (cookie) headers.cookie = cookie;
  if (extra.origin) headers.origin = extra.origin;
  const socket = ioClient(url, {
    transports: ['websocket'],
    extraHeaders: headers,
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

export type Ack = { success: boolean; code?: string; error?: string } & Record<string, unknown>;

export function emitAck(socket: Socket, event: string, ...args: unknown[]): Promise<Ack> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<Ack>;
}

/** Resolves with the next `event` payload that satisfies `match`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(
  socket: Socket,
  event: string,
  match: (p: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const handler = (payload: T) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, handler);
      resolve(payload);
    };
    socket.on(event, handler);
  });
}

/** Polls `fn` until it returns true, or fails naming `what`. */
export async function eventually(
  fn: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Records every payload of `event` on a socket. */
export function record<T = unknown>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (p: T) => seen.push(p));
  return seen;
}
