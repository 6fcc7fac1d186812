/** Stable error codes with their HTTP status: the same in HTTP bodies and socket acks (docs/protocol.md). */
const STATUS = {
  invalid_payload: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  username_taken: 409,
  invalid_credentials: 401,
  room_exists: 409,
  room_not_found: 404,
  not_in_room: 409,
  rate_limited: 429,
  unavailable: 503,
  payload_too_large: 413,
  internal: 500,
  // Issue 14 (private conversations, edits, moderation): docs/protocol.md.
  not_member: 403,
  edit_window_passed: 403,
  suspended: 403,
  member_limit: 409,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof STATUS;
export const ERROR_CODES = Object.keys(STATUS) as readonly ErrorCode[];

/** An error meant for the client: a human message and a stable code. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = STATUS[code];
  }
}

export interface FailBody {
  success: false;
  error: string;
  code: ErrorCode;
  retryAfterMs?: number;
}

/** True for errors raised by the Redis client while the server is unreachable. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const name = err.name === 'Error' ? err.constructor.name : err.name;
  const msg = err.message;
  return (
    name === 'ClientClosedError' ||
    name === 'ClientOfflineError' ||
    name === 'ConnectionTimeoutError' ||
    name === 'SocketClosedUnexpectedlyError' ||
    /ECONNREFUSED|ECONNRESET|EPIPE|The client is closed|Socket closed unexpectedly|offline queue|client is offline|connection is not ready|LOADING/i.test(
      msg,
    ) ||
    // Topology changes: a Redis Cluster without a master for some slots (CLUSTERDOWN), a slot moving
    // (TRYAGAIN), a replica that lost its primary (MASTERDOWN), a write that reached a demoted
    // primary (READONLY). Each passes once the cluster or Sentinel settles (Redis error prefixes).
    /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY) /.test(msg)
  );
}

/** Maps any thrown value to what a client may see; unknown errors become `internal`. */
export function toFailBody(err: unknown): FailBody {
  if (err instanceof AppError) {
    const body: FailBody = { success: false, error: err.message, code: err.code };
    if (err.retryAfterMs !== undefined) body.retryAfterMs = err.retryAfterMs;
    return body;
  }
  if (isRedisUnavailable(err)) {
    return {
      success: false,
      error: 'The chat store is unavailable; try again shortly.',
      code: 'unavailable',
    };
  }
  return { success: false, error: 'Something went wrong on our side.', code: 'internal' };
}

export function statusOf(body: FailBody): number {
  return STATUS[body.code];
}
