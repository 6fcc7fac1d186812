import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AppError, ERROR_CODES, isRedisUnavailable, statusOf, toFailBody } from '../../src/errors.js';
import { ERROR_STATUS } from '../../src/protocol.js';
import { isAllowedOrigin } from '../../src/realtime/origin.js';

const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('origin check', () => {
  it('allows same origin, including the port', () => {
    expect(isAllowedOrigin(req({ host: 'localhost:8080', origin: 'http://localhost:8080' }), [])).toBe(true);
    expect(isAllowedOrigin(req({ host: 'chat.example.com', origin: 'https://chat.example.com' }), [])).toBe(
      true,
    );
  });

  it('refuses another host or port', () => {
    expect(isAllowedOrigin(req({ host: 'localhost:8080', origin: 'http://localhost:9999' }), [])).toBe(false);
    expect(isAllowedOrigin(req({ host: 'chat.example.com', origin: 'https://evil.example' }), [])).toBe(
      false,
    );
    expect(isAllowedOrigin(req({ host: 'chat.example.com', origin: 'null' }), [])).toBe(false);
  });

  it('allows listed origins and requests with no Origin (non-browser clients)', () => {
    expect(
      isAllowedOrigin(req({ host: 'a:1', origin: 'https://app.example.com' }), ['https://app.example.com']),
    ).toBe(true);
    expect(isAllowedOrigin(req({ host: 'a:1' }), [])).toBe(true);
  });
});

describe('error bodies', () => {
  it('keeps an AppError code and message', () => {
    expect(toFailBody(new AppError('rate_limited', 'slow down', 1500))).toEqual({
      success: false,
      error: 'slow down',
      code: 'rate_limited',
      retryAfterMs: 1500,
    });
  });

  it('hides unexpected errors', () => {
    const body = toFailBody(new Error('secret internals'));
    expect(body).toEqual({ success: false, error: 'Something went wrong on our side.', code: 'internal' });
  });

  it('maps Redis connection failures to unavailable', () => {
    const offline = new Error('The client is closed');
    offline.name = 'ClientClosedError';
    expect(isRedisUnavailable(offline)).toBe(true);
    expect(toFailBody(offline).code).toBe('unavailable');
  });

  it('maps the replies of a Redis Cluster or Sentinel mid-failover to unavailable, not internal', () => {
    // The messages as node-redis raises them (a SimpleError carrying the server's reply).
    for (const reply of [
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
      "READONLY You can't write against a read only replica.",
    ]) {
      const err = new Error(reply);
      err.name = 'SimpleError';
      expect(toFailBody(err).code, reply).toBe('unavailable');
    }
    expect(toFailBody(new Error('ERR unknown command')).code).toBe('internal');
  });
});

describe('error status table', () => {
  it('gives every code its AppError status, and statusOf agrees', () => {
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) {
      const status = ERROR_STATUS[code];
      expect(new AppError(code, 'x').status).toBe(status);
      expect(statusOf({ success: false, error: 'x', code })).toBe(status);
      expect(status).toBeGreaterThanOrEqual(400);
    }
  });
});
