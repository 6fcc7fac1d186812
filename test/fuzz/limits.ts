import { readFileSync } from 'node:fs';
import { AppError, ERROR_CODES, type ErrorCode } from '../../src/errors.js';
import { SESSION_COOKIE } from '../../src/http/session.js';
import { CLIENT_EVENTS } from '../../src/realtime/events.js';
import {
  CLIENT_ID_RE,
  MESSAGE_MAX,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_BYTES,
  HTTP_BODY_MAX_BYTES,
  LEGACY_ROOMS_MAX,
  ROOM_NAME_MAX,
  ROOM_PAGE_MAX,
  SOCKET_PACKET_MAX_BYTES,
  USERNAME_RE,
  clientPayloadSchemas,
  createRoomSchema,
  credentialsSchema,
  joinSchema,
  messageSchema,
  roomNameSchema,
  usernameSchema,
  whoQuerySchema,
} from '../../src/protocol.js';
import { nameIdentity } from '../../src/text-rules.js';

/**
 * The one place the fuzzer learns the server's limits, codes and shapes: everything is imported from the
 * server's own modules (or read from the nginx.conf the cluster runs), never copied.
 */
export {
  CLIENT_EVENTS,
  CLIENT_ID_RE,
  ERROR_CODES,
  LEGACY_ROOMS_MAX,
  MESSAGE_MAX,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_BYTES,
  ROOM_NAME_MAX,
  ROOM_PAGE_MAX,
  SESSION_COOKIE,
  USERNAME_RE,
};
/**
 * The protocol's own schemas and the name identity rule: an oracle states what the server must
 * store or answer by running the server's rule on what was sent (never a copy of the rule).
 */
export {
  clientPayloadSchemas,
  createRoomSchema,
  credentialsSchema,
  joinSchema,
  messageSchema,
  nameIdentity,
  roomNameSchema,
  usernameSchema,
  whoQuerySchema,
};
export type { ErrorCode };
export type { ClientEventName } from '../../src/protocol.js';
/** The protocol's Message shape. */
export type { Message } from '../../src/protocol.js';

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

/** Socket.IO maxHttpBufferSize: the largest frame a socket may send. */
export const SOCKET_MAX_BYTES = SOCKET_PACKET_MAX_BYTES;
/** express.json's body limit on /auth. */
export const JSON_BODY_LIMIT = HTTP_BODY_MAX_BYTES;
