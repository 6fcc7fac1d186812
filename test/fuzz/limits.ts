import { readFileSync } from 'node:fs';
import { AppError, ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { SESSION_COOKIE } from '../../src/http/session.js';
import { CLIENT_EVENTS } from '../../src/realtime/events.js';
import {
  CLIENT_ID_RE,
  MESSAGE_MAX,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_BYTES,
  ROOM_NAME_MAX,
  USERNAME_RE,
} from '../../src/validation.js';

/**
 * The one place the fuzzer learns the server's limits, codes and shapes: everything is imported from the
 * server's own modules (or read from the nginx.conf the cluster runs), never copied. When the
 * validation module moves, only the import above changes.
 */
export {
  CLIENT_EVENTS,
  CLIENT_ID_RE,
  ERROR_CODES,
  MESSAGE_MAX,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_BYTES,
  ROOM_NAME_MAX,
  SESSION_COOKIE,
  USERNAME_RE,
};
export type { ErrorCode };
/** The protocol's Message shape (src/store/messages.ts). */
export type { Message } from '../../src/store/messages.js';

/** The HTTP status the server pairs with an error code (src/errors.ts). */
export function statusOfCode(code: ErrorCode): number {
  return new AppError(code, '').status;
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && (ERROR_CODES as readonly string[]).includes(code);
}

/** Codes that mean the server failed, not the client: never acceptable under fuzzing. */
export const SERVER_FAULT_CODES: readonly ErrorCode[] = ['internal', 'unavailable'];

/** nginx's `client_max_body_size` in the project's nginx.conf (the file the cluster harness renders). */
function nginxBodyLimit(): number {
  const conf = readFileSync(new URL('../../nginx.conf', import.meta.url), 'utf8');
  const m = /client_max_body_size\s+(\d+)([kKmM]?)\s*;/.exec(conf);
  if (m === null) throw new Error('nginx.conf has no client_max_body_size');
  const unit = (m[2] ?? '').toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}
export const NGINX_BODY_LIMIT = nginxBodyLimit();

/*
 * Not exported by the server yet (literals in src/realtime/io.ts `maxHttpBufferSize` and
 * src/http/app.ts `express.json({ limit })`): the fuzzer only uses them to tell a packet that must be
 * refused from one that must be served, with a margin either side. Replace with imports once the
 * server exports them.
 */
/** Socket.IO maxHttpBufferSize: the largest frame a socket may send. */
export const SOCKET_MAX_BYTES = 32 * 1024;
/** express.json's body limit on /auth. */
export const JSON_BODY_LIMIT = 16 * 1024;
