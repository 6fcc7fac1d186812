import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PUBSUB_FAIL_GRACE_MS, readinessResponse } from '../../src/http/readiness.js';
import { createKeys } from '../../src/redis/keys.js';
import { METRICS_TOKEN, connect, emitAck, getJson, signUp, startApp, type TestApp } from '../helpers/app.js';

let app: TestApp;

beforeAll(async () => {
  app = await startApp({ name: 'ops' });
});
afterAll(async () => {
  await app?.close();
});

describe('health, readiness, metrics, status, static', () => {
  it('answers /healthz and /readyz', async () => {
    expect((await getJson(`${app.url}/healthz`)).body).toMatchObject({ success: true, status: 'alive' });
    const ready = await getJson(`${app.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('x-instance-id')).toBeTruthy();
  });

  it('serves /metrics and /api/status only with the operator token', async () => {
    expect((await getJson(`${app.url}/metrics`)).status).toBe(401);
    expect((await getJson(`${app.url}/metrics`, undefined, { authorization: 'Bearer wrong' })).status).toBe(
      401,
    );
    const { cookie } = await signUp(app.url);
    const socket = await connect(app.url, cookie);
    await emitAck(socket, 'who');
    const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    const text = await res.text();
    expect(res.status).toBe(200);
    for (const name of [
      'chat_sockets_connected',
      'chat_acks_total',
      'chat_redis_command_seconds',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(text).toContain(name);
    }
    expect(text).toMatch(/chat_sockets_connected\{[^}]*\} 1/);
    const status = await getJson(`${app.url}/api/status`, undefined, {
      authorization: `Bearer ${METRICS_TOKEN}`,
    });
    expect(status.body.success).toBe(true);
    expect((status.body.instances as { id: string }[]).length).toBeGreaterThanOrEqual(1);
    socket.close();
  });

  it('serves pages with a strict CSP and no inline script', async () => {
    const res = await fetch(`${app.url}/auth.html`);
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script>(?!\s*<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const root = await fetch(`${app.url}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/auth.html');
  });

  it('answers malformed requests with 400, not 500', async () => {
    const { cookie } = await signUp(app.url);
    const badPath = await getJson(`${app.url}/api/rooms/%ED%A0%80/messages`, cookie);
    expect(badPath.status).toBe(400);
    expect(badPath.body).toMatchObject({ success: false, code: 'invalid_payload' });
    const badEncoding = await fetch(`${app.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: '{"username":"abc"}',
    });
    expect(badEncoding.status).toBe(400);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await getJson(`${app.url}/api/nope`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, code: 'not_found' });
  });

  it('fails /readyz while shutting down and closes idempotently', async () => {
    const other = await startApp({ name: 'ops-close', prefix: app.prefix });
    const first = other.close();
    const second = other.close();
    expect(second).toBe(first);
    expect(await other.server.readiness()).toBe('shutting down');
    expect(readinessResponse('shutting down').status).toBe(503);
    await first;
  });

  // ACL users live per server: on a Redis Cluster or Sentinel each node would need its own, and those
  // tiers authenticate through REDIS_PASSWORD instead (docs/redis-topologies.md).
  it.skipIf((inject('redisEnv').REDIS_MODE ?? 'standalone') !== 'standalone')(
    'connects with credentials in REDIS_URL (a password-protected Redis user)',
    async () => {
      const user = `chat-test-${randomBytes(4).toString('hex')}`;
      const password = randomBytes(16).toString('hex');
      const admin = createClient({ url: inject('redisUrl') });
      await admin.connect();
      // A user of its own with a password; the default user stays as it was.
      await admin.sendCommand([
        'ACL',
        'SETUSER',
        user,
        'on',
        `>${password}`,
        `~${app.prefix}*`,
        `&${app.prefix}*`,
        '+@all',
      ]);
      const url = new URL(inject('redisUrl'));
      url.username = user;
      url.password = password;
      const authed = await startApp({
        name: 'ops-auth',
        prefix: app.prefix,
        env: { REDIS_URL: url.toString() },
      });
      try {
        const res = await getJson(`${authed.url}/readyz`);
        expect(res.body).toMatchObject({ status: 'ready' });
        const u = await signUp(authed.url);
        expect((await getJson(`${app.url}/auth/me`, u.cookie)).status).toBe(200);
      } finally {
        await authed.close();
        await admin.sendCommand(['ACL', 'DELUSER', user]);
        await admin.close();
      }
    },
  );

  it('fails /readyz when its own pub/sub is broken while Redis answers (only this instance)', async () => {
    const broken = await startApp({ name: 'ops-pubsub', prefix: app.prefix });
    try {
      const id = (await getJson(`${broken.url}/readyz`)).headers.get('x-instance-id') ?? '';
      expect(id).not.toBe('');
      // This instance's subscriber stops hearing its probe channel; Redis itself is fine.
      await broken.server.redis.sub.unsubscribe(createKeys(app.prefix).readyChannel(id));
      await expect
        .poll(async () => (await getJson(`${broken.url}/readyz`)).status, {
          timeout: PUBSUB_FAIL_GRACE_MS + 5000,
          interval: 500,
        })
        .toBe(503);
      expect((await getJson(`${broken.url}/readyz`)).body).toMatchObject({ code: 'unavailable' });
      expect((await getJson(`${app.url}/readyz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});
