import http from 'node:http';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';

/**
 * The tests' one HTTP client, able to send from a chosen loopback address. nginx routes by client
 * address (`hash $remote_addr`), so to land on different instances through it a test sends from
 * different addresses: all of 127.0.0.0/8 is local on Linux, and binding 127.0.0.2, 127.0.0.3… as the
 * source needs no setup. socket.io-client has no source-address option for long-polling (its
 * `localAddress` only reaches the WebSocket transport) but hands its `agent` option to both
 * transports, so pass `...fromAddress(ip)` in the io() options.
 */

/** An http.Agent whose connections leave from `ip` (e.g. 127.0.0.2): a distinct client to nginx. */
export function loopbackAgent(ip: string): http.Agent {
  return new http.Agent({ localAddress: ip, keepAlive: false });
}

/**
 * socket.io-client options that make both transports connect from `ip`. engine.io-client types
 * `agent` as string | boolean but passes it on to Node's http and ws, which take an http.Agent.
 */
export function fromAddress(ip: string): Pick<Partial<ManagerOptions & SocketOptions>, 'agent'> {
  return { agent: loopbackAgent(ip) as unknown as string };
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  /** Source address (127.0.0.N); default: the kernel's choice (127.0.0.1). */
  from?: string | undefined;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

/** GET by default; resolves with status, headers and the body as text (any status). */
export function request(url: string, opts: RequestOptions = {}): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: opts.from === undefined ? false : loopbackAgent(opts.from),
        timeout: opts.timeoutMs ?? 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.once('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url} timed out`)));
    req.once('error', reject);
    req.end(opts.body);
  });
}

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  /** The JSON body, or `{ text }` when it is not JSON. */
  body: T;
  /** name=value of the first Set-Cookie. */
  cookie: string | undefined;
  headers: Headers;
}

/** POSTs `body` as JSON (as is when `raw`), with a session cookie when given. */
export async function postJson(
  url: string,
  body: unknown,
  cookie?: string,
  raw = false,
  from?: string,
): Promise<HttpResult> {
  const res = await request(url, {
    method: 'POST',
    from,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: raw ? (body as string) : JSON.stringify(body),
  });
  return toResult(res);
}

export async function getJson(
  url: string,
  cookie?: string,
  headers: Record<string, string> = {},
  from?: string,
): Promise<HttpResult> {
  return toResult(await request(url, { from, headers: { ...headers, ...(cookie ? { cookie } : {}) } }));
}

function toResult(res: SimpleResponse): HttpResult {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    body = { text: res.body };
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
      headers.append(name, v);
  }
  const setCookie = res.headers['set-cookie']?.[0];
  return { status: res.status, body, cookie: setCookie?.split(';')[0], headers };
}

/**
 * True when the instance at `baseUrl` serves with Redis behind it: /readyz 200 with status `ready`.
 * A 200 alone is not enough: readiness stays 200 (`degraded`) while Redis is unreachable, so that a
 * shared Redis outage does not empty the load balancer's pool (src/http/readiness.ts).
 */
export async function serving(baseUrl: string): Promise<boolean> {
  const res = await request(`${baseUrl}/readyz`).catch(() => undefined);
  if (res?.status !== 200) return false;
  try {
    return (JSON.parse(res.body) as { status?: unknown }).status === 'ready';
  } catch {
    return false;
  }
}
