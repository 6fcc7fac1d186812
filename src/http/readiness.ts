/**
 * What readiness means, per instance (README "Readiness", deploy/README.md): a load balancer must
 * take an instance out only for what is wrong with THAT instance, since taking every instance out
 * at once turns the product's own graceful "unavailable, retrying" into a blank 503 for everyone.
 *
 * - `ready`: serving.
 * - `degraded`: Redis cannot be reached. Every instance sees the same outage, so failing readiness
 *   would empty the whole pool; instead the instance stays in, keeps its sockets, answers
 *   `unavailable` to what needs Redis, and recovers by itself when Redis is back. Still 200.
 * - `shutting down`: draining after SIGTERM; the balancer must stop sending new requests. 503.
 * - `pubsub broken`: Redis answers this instance's commands, yet its own adapter pub/sub round trip
 *   has kept failing for PUBSUB_FAIL_GRACE_MS: the fault is this instance's (its subscriber), the
 *   others are fine, so route around it. 503.
 * - before startup finishes (Redis connected, adapter subscribed, listening) nothing answers at all.
 */
export type ReadinessState = 'ready' | 'degraded' | 'shutting down' | 'pubsub broken';

/** How long the pub/sub round trip must keep failing (with Redis answering) before readiness fails. */
export const PUBSUB_FAIL_GRACE_MS = 5000;

/** Whether a load balancer should send this instance new requests in `state`. */
export function isReady(state: ReadinessState): boolean {
  return state === 'ready' || state === 'degraded';
}

/** The /readyz answer for `state`: 200 while ready or degraded, else 503 with code `unavailable`. */
export function readinessResponse(state: ReadinessState): {
  status: number;
  body: Record<string, unknown>;
} {
  if (state === 'ready') return { status: 200, body: { success: true, status: 'ready' } };
  if (state === 'degraded')
    return { status: 200, body: { success: true, status: 'degraded', redis: 'unreachable' } };
  return { status: 503, body: { success: false, error: `not ready: ${state}`, code: 'unavailable' } };
}
