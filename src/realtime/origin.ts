import type { IncomingMessage } from 'node:http';

/**
 * Cross-Site WebSocket Hijacking guard. Browsers send Origin on WebSocket and cross-origin XHR:
 * it must name this very host and port (nginx forwards Host with its port) or be listed in
 * ALLOWED_ORIGINS. Requests without Origin come from non-browser clients, which hold no
 * victim's cookie, and pass.
 */
export function isAllowedOrigin(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (allowed.includes(parsed.origin)) return true;
  const host = req.headers.host;
  return host !== undefined && parsed.host === host.toLowerCase();
}
