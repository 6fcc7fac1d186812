import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths never written to a log: credentials, cookies, session ids. */
const REDACT = [
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
  'password',
  '*.password',
  'body.password',
  'sessionId',
  '*.sessionId',
];

/** Root logger: JSON lines, every one carrying the instance id. Modules take `child({ mod })`. */
export function createLogger(opts: { instanceId: string; level: string }): Logger {
  return pino({
    level: opts.level,
    base: { instance: opts.instanceId },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
