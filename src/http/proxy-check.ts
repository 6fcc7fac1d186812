import type { RequestHandler } from 'express';
import type { Logger } from '../logger.js';

/** What one request tells about the proxy in front of this instance. */
export interface ProxyObservation {
  /** The X-Forwarded-For header, if any. */
  forwardedFor: string | undefined;
  /** The TCP peer's address. */
  peer: string | undefined;
  /** Whether express's `trust proxy` setting trusts that peer. */
  trusted: boolean;
}

export interface ProxyStatus {
  /** True once a request carried X-Forwarded-For from a peer that is not trusted. */
  untrustedForwardedFor: boolean;
  /** How many such requests this instance saw. */
  requests: number;
  /** When the first one arrived (ISO 8601). */
  since?: string;
  hint?: string;
}

export interface ProxyCheck {
  observe(o: ProxyObservation): void;
  status(): ProxyStatus;
  /** Express middleware feeding `observe` from each request. */
  middleware: RequestHandler;
}

const HINT =
  'Requests carry X-Forwarded-For from a peer TRUST_PROXY does not trust: every client looks like ' +
  'the proxy, so per-address limits and logs lump all users together. Set TRUST_PROXY to the ' +
  "proxy's hop count or addresses (README, configuration).";

/**
 * Notices a proxy the server was not told to trust: a request carrying X-Forwarded-For from an
 * untrusted peer. Logged at warn once per process (not per request), counted, and shown in
 * `/api/status`. A client may send the header itself; one warning is cheap, and the count tells.
 */
export function createProxyCheck(log: Logger): ProxyCheck {
  const state: ProxyStatus = { untrustedForwardedFor: false, requests: 0 };
  const observe = (o: ProxyObservation) => {
    if (o.forwardedFor === undefined || o.trusted) return;
    state.requests += 1;
    if (state.untrustedForwardedFor) return;
    state.untrustedForwardedFor = true;
    state.since = new Date().toISOString();
    state.hint = HINT;
    log.warn({ peer: o.peer }, HINT);
  };
  return {
    observe,
    status: () => ({ ...state }),
    middleware: (req, _res, next) => {
      const peer = req.socket.remoteAddress;
      const trustFn = req.app.get('trust proxy fn') as ((addr: string, i: number) => boolean) | undefined;
      observe({
        forwardedFor: req.headers['x-forwarded-for'] as string | undefined,
        peer,
        trusted: peer !== undefined && trustFn !== undefined && trustFn(peer, 0),
      });
      next();
    },
  };
}
