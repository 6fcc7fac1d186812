import { io } from 'socket.io-client';
import { nowMs } from './protocol.js';

/** HTTP and one-off socket helpers of the orchestrator (product only: the baseline has no accounts). */

export const PASSWORD = 'bench-password-1';

function sessionCookie(res: Response): string | undefined {
  for (const line of res.headers.getSetCookie()) {
    if (line.startsWith('chat.sid=')) return line.split(';')[0];
  }
  return undefined;
}

async function postJson(url: string, body: unknown, timeoutMs: number): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

/** Registers a user; resolves to its session cookie (`chat.sid=…`). */
export async function register(baseUrl: string, username: string, timeoutMs = 30_000): Promise<string> {
  const res = await postJson(`${baseUrl}/auth/register`, { username, password: PASSWORD }, timeoutMs);
  const text = await res.text();
  const cookie = sessionCookie(res);
  if (res.status !== 201 || !cookie)
    throw new Error(`register ${username}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return cookie;
}

export interface LoginResult {
  ok: boolean;
  status: number;
  ms: number;
}

export async function login(baseUrl: string, username: string, timeoutMs = 60_000): Promise<LoginResult> {
  const started = nowMs();
  try {
    const res = await postJson(`${baseUrl}/auth/login`, { username, password: PASSWORD }, timeoutMs);
    await res.arrayBuffer();
    return {
      ok: res.status === 200 && sessionCookie(res) !== undefined,
      status: res.status,
      ms: nowMs() - started,
    };
  } catch {
    return { ok: false, status: 0, ms: nowMs() - started };
  }
}

/** Registers `names` round-robin over the instances, `concurrency` at a time; cookies in the same order. */
export async function registerAll(
  urls: readonly string[],
  names: readonly string[],
  concurrency: number,
): Promise<string[]> {
  const cookies: string[] = new Array<string>(names.length).fill('');
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, names.length)) }, async () => {
      while (next < names.length) {
        const i = next++;
        const name = names[i];
        const url = urls[i % urls.length];
        if (name === undefined || url === undefined) continue;
        cookies[i] = await register(url, name);
      }
    }),
  );
  return cookies;
}

/** Creates rooms over one signed-in socket (`create-room`); an existing room is fine. */
export async function createRooms(baseUrl: string, cookie: string, rooms: readonly string[]): Promise<void> {
  const socket = io(baseUrl, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: { cookie },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    for (const room of rooms) {
      const ack = (await socket.timeout(10_000).emitWithAck('create-room', room)) as {
        success?: boolean;
        code?: string;
      };
      if (ack.success !== true && ack.code !== 'room_exists')
        throw new Error(`create-room ${room}: ${ack.code ?? '?'}`);
    }
  } finally {
    socket.disconnect();
  }
}

/** GET /metrics of one instance (bearer token): every sample as name{labels} → value. */
export async function scrapeMetrics(baseUrl: string, token: string): Promise<Map<string, number>> {
  const res = await fetch(`${baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics: HTTP ${res.status}`);
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const key = line.slice(0, space);
    const name = key.includes('{') ? key.slice(0, key.indexOf('{')) : key;
    const value = Number(line.slice(space + 1));
    // Keep the first sample of each metric name under the bare name too (unlabelled gauges).
    if (!samples.has(name)) samples.set(name, value);
    samples.set(key, value);
  }
  return samples;
}
