import http from 'node:http';
import { resolveAuth, headerSafe, type CookieRef } from '../arbitraries/http-parts.js';
import { httpCase, type HttpCase, type HttpContext, type Target } from '../arbitraries/http.js';
import { Tally } from '../figures.js';
import { JSON_BODY_LIMIT, NGINX_BODY_LIMIT, SESSION_COOKIE } from '../limits.js';
import { checkHttp, type Answer, type SentRequest } from '../oracles/http.js';
import { checkProperty, holds, type FuzzEnv, type PropertyOutcome } from '../runner.js';
import { preview } from '../wire.js';

/**
 * The HTTP property: every fuzzed request is answered per checkHttp. Session cookies that logout
 * may destroy live in a pool the property refills from successful sign-ins; stable cookies are
 * never sent where a session could end.
 */

export interface HttpTargets {
  url(target: Target): string;
  metricsToken: string;
  /** Cookies of sessions that stay valid for the whole run. */
  stableCookies: readonly string[];
}

/** Requests that once answered 500; replayed as examples through nginx and on each instance. */
const FINDINGS: readonly Omit<HttpCase, 'target'>[] = [
  // A path parameter that is not valid %-encoding / UTF-8: the router's decodeParam throws a URIError.
  { route: 'finding', method: 'GET', path: '/api/rooms/%E0%A4%A/messages', headers: {} },
  { route: 'finding', method: 'GET', path: '/api/rooms/%ED%A0%80/messages', headers: {} },
  { route: 'finding', method: 'GET', path: '/api/rooms/%/messages?limit=5', headers: {} },
  // A body that does not match its Content-Encoding.
  ...['gzip', 'deflate', 'br'].map((encoding) => ({
    route: 'finding',
    method: 'POST',
    path: '/auth/login',
    headers: { 'content-type': 'application/json', 'content-encoding': encoding },
    body: Buffer.from('{"username":"alice","password":"password123"}'),
  })),
];
export const HTTP_FINDINGS: readonly HttpCase[] = (['nginx', 0, 1, 2] as const).flatMap((target) =>
  FINDINGS.map((f) => ({ ...f, target })),
);

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request with any method, headers and a binary body; rejects on a transport error or a timeout. */
export function sendHttp(base: string, req: SentRequest, timeoutMs = 10_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const headers =
      req.body === undefined ? req.headers : { ...req.headers, 'content-length': String(req.body.length) };
    const r = http.request(
      // A refused big body may leave the connection half-written: never reuse one.
      {
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: req.path,
        headers,
        timeout: timeoutMs,
        agent: (req.body?.length ?? 0) > JSON_BODY_LIMIT ? false : keepAlive,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    r.once('timeout', () => r.destroy(new Error(`${req.method} ${req.path.slice(0, 80)} timed out`)));
    r.once('error', reject);
    r.end(req.body);
  });
}

export function closeHttpAgent(): void {
  keepAlive.destroy();
}

function resolveCookie(ref: CookieRef, t: HttpTargets, pool: readonly string[]): string | undefined {
  if ('literal' in ref) return ref.literal;
  if ('pool' in ref) return pool.length === 0 ? undefined : pool[ref.pool % pool.length];
  const stable = t.stableCookies[ref.stable % t.stableCookies.length] ?? '';
  return ref.garbage === 'before'
    ? `${SESSION_COOKIE}=garbage; ${stable}`
    : ref.garbage === 'after'
      ? `${stable}; ${SESSION_COOKIE}=garbage`
      : stable;
}

/** The concrete request of a case: symbolic cookie and token resolved. */
function resolve(c: HttpCase, t: HttpTargets, pool: readonly string[]): SentRequest {
  const headers = { ...c.headers };
  const cookie = c.cookie === undefined ? undefined : resolveCookie(c.cookie, t, pool);
  if (cookie !== undefined) headers.cookie = headerSafe(cookie);
  if (c.auth !== undefined) headers.authorization = resolveAuth(c.auth, t.metricsToken);
  return { method: c.method, path: c.path, target: c.target, headers, body: c.body };
}

async function fireHttp(c: HttpCase, t: HttpTargets, pool: string[], tally: Tally): Promise<string[]> {
  const req = resolve(c, t, pool);
  tally.add('http');
  let res: Answer;
  try {
    res = await sendHttp(t.url(c.target), req);
  } catch (err) {
    const limit = c.target === 'nginx' ? NGINX_BODY_LIMIT : JSON_BODY_LIMIT;
    if ((c.body?.length ?? 0) > limit && /ECONNRESET|EPIPE|socket hang up/i.test(String(err))) {
      tally.add('resets on bodies over the limit'); // refused a big body and closed before reading it
      return [];
    }
    return [String(err)];
  }
  tally.add(`status:${c.route} ${res.status}`);
  const verdict = checkHttp(req, res, t.metricsToken);
  if (verdict.by === 'nginx' || verdict.by === 'node') tally.add(`${verdict.by}'s own ${res.status}`);
  // A successful sign-in refills the pool of cookies logout may destroy.
  const setCookie = res.headers['set-cookie']?.[0]?.split(';')[0];
  if (res.status < 300 && c.method === 'POST' && setCookie?.startsWith(`${SESSION_COOKIE}=`)) {
    if (pool.length < 30) pool.push(setCookie);
    else pool[tally.get('http') % pool.length] = setCookie;
  }
  return verdict.problems;
}

export interface HttpFuzzOptions {
  env: FuzzEnv;
  name: string;
  ctx: HttpContext;
  targets: HttpTargets;
  /** Cookies logout may destroy (the pool starts with these). */
  volatileCookies: readonly string[];
  runs: number;
  concurrency: number;
}

/** `concurrency` HTTP workers side by side, each its own property; the first also replays the findings. */
export async function httpProperty(
  o: HttpFuzzOptions,
): Promise<{ outcomes: PropertyOutcome[]; tally: Tally }> {
  const arb = httpCase(o.ctx);
  const pool = [...o.volatileCookies];
  const tallies = Array.from({ length: o.concurrency }, () => new Tally());
  const outcomes = await Promise.all(
    tallies.map((tally, k) =>
      checkProperty(
        o.env,
        `${o.name}/${k}`,
        arb,
        async (c) =>
          holds(
            await fireHttp(c, o.targets, pool, tally),
            `${c.method} ${String(c.target)} ${c.path.slice(0, 120)} [${preview(c.headers, 200)}] body ${preview(c.body?.toString('utf8'), 100)}`,
          ),
        { numRuns: Math.ceil(o.runs / o.concurrency), examples: k === 0 ? [...HTTP_FINDINGS] : [] },
      ),
    ),
  );
  return { outcomes, tally: Tally.merge(tallies) };
}
