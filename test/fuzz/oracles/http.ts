import type { IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { Target } from '../arbitraries/http.js';
import { credentialsSchema, isErrorCode, SERVER_FAULT_CODES, statusOfCode } from '../limits.js';
import { isRecord } from './ack.js';

/**
 * The HTTP promises checked for one fuzzed request: never 5xx; nginx answers only 400/413 itself;
 * the app's 4xx is `{success:false, error, code}` with the code's own status; 429 says when to
 * retry; protected routes need the token or a session; sign-in needs valid credentials.
 */

export interface SentRequest {
  method: string;
  path: string;
  target: Target;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpVerdict {
  /** Who answered: the app, nginx or node itself (a parse error before the app), or engine.io. */
  by: 'app' | 'nginx' | 'node' | 'engine';
  problems: string[];
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Whether a sign-in body passes the protocol's own credentials schema. */
/**
 * The body as the server's JSON parser reads it: express.json (body-parser 2) inflates a
 * `Content-Encoding` of gzip, deflate or br and refuses any other (415); undefined when it cannot.
 */
function decodedBody(req: SentRequest): Buffer | undefined {
  const body = req.body;
  if (body === undefined) return undefined;
  const encoding = Object.entries(req.headers)
    .find(([k]) => k.toLowerCase() === 'content-encoding')?.[1]
    ?.trim()
    .toLowerCase();
  try {
    if (encoding === undefined || encoding === '' || encoding === 'identity') return body;
    if (encoding === 'gzip') return gunzipSync(body);
    if (encoding === 'deflate') return inflateSync(body);
    if (encoding === 'br') return brotliDecompressSync(body);
  } catch {
    return undefined;
  }
  return undefined;
}

function validCredentials(req: SentRequest): boolean {
  const body = decodedBody(req);
  const o = body === undefined ? undefined : parseJson(body.toString('utf8'));
  return credentialsSchema.safeParse(o).success;
}

export function checkHttp(req: SentRequest, res: Answer, metricsToken: string): HttpVerdict {
  const problems: string[] = [];
  const lower = req.path.toLowerCase();
  if (res.status >= 500) problems.push(`${res.status} ${res.body.slice(0, 200)}`);
  if (lower.startsWith('/socket.io')) return { by: 'engine', problems }; // engine.io's own {code,message}
  if (res.headers['x-instance-id'] === undefined) {
    const by = req.target === 'nginx' ? 'nginx' : 'node';
    const allowed = by === 'nginx' ? [400, 413] : [400];
    if (!allowed.includes(res.status))
      problems.push(`${by} answered ${res.status} itself: ${res.body.slice(0, 200)}`);
    return { by, problems };
  }
  if (req.method === 'HEAD' || problems.length > 0) return { by: 'app', problems };
  const body = parseJson(res.body);
  if (res.status >= 400) {
    if (
      !isRecord(body) ||
      body.success !== false ||
      typeof body.error !== 'string' ||
      !isErrorCode(body.code)
    ) {
      problems.push(`${res.status} without {success:false,error,code}: ${res.body.slice(0, 200)}`);
      return { by: 'app', problems };
    }
    if (statusOfCode(body.code) !== res.status) problems.push(`code ${body.code} with status ${res.status}`);
    if (SERVER_FAULT_CODES.includes(body.code)) problems.push(`server fault ${body.code}`);
    if (
      res.status === 429 &&
      (res.headers['retry-after'] === undefined ||
        !(typeof body.retryAfterMs === 'number' && body.retryAfterMs > 0))
    )
      problems.push('429 without Retry-After and retryAfterMs');
    return { by: 'app', problems };
  }
  // 2xx/3xx from the app. Node trims a header's surrounding white space before the app sees it.
  const authed = req.headers.authorization?.trim() === `Bearer ${metricsToken}`;
  if (lower.startsWith('/metrics')) {
    if (res.status === 200 && !authed) problems.push('/metrics served without the token');
    return { by: 'app', problems };
  }
  if (!lower.startsWith('/auth') && !lower.startsWith('/api')) return { by: 'app', problems }; // static files, redirects
  if (req.method === 'OPTIONS') return { by: 'app', problems }; // express answers with the allowed methods
  if (!isRecord(body) || body.success !== true) {
    problems.push(`${res.status} without {success:true}: ${res.body.slice(0, 200)}`);
    return { by: 'app', problems };
  }
  if (lower.startsWith('/api/status') && !authed) problems.push('/api/status served without the token');
  const route = `${req.method} ${lower.split('?')[0] ?? ''}`;
  if ((route === 'POST /auth/register' || route === 'POST /auth/login') && !validCredentials(req))
    problems.push('signed in with invalid credentials');
  if ((route === 'GET /auth/me' || lower.startsWith('/api/rooms')) && req.headers.cookie === undefined)
    problems.push('served without a session cookie');
  if (/^\/api\/rooms\/[^/?]+\/messages/.test(lower)) {
    if (!Array.isArray(body.messages) || typeof body.latestSeq !== 'number')
      problems.push('malformed history page');
  }
  return { by: 'app', problems };
}
