import { afterEach, describe, expect, it } from 'vitest';
import { getJson, METRICS_TOKEN, startApp, type TestApp } from '../helpers/app.js';

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const status = async (app: TestApp) =>
  (await getJson(`${app.url}/api/status`, undefined, { authorization: `Bearer ${METRICS_TOKEN}` })).body
    .proxy as { untrustedForwardedFor: boolean; requests: number; since?: string; hint?: string };

describe('X-Forwarded-For from a peer the server does not trust', () => {
  it('is reported in /api/status (and logged once) when TRUST_PROXY is unset', async () => {
    const app = await startApp({ name: 'proxy-untrusted' });
    apps.push(app);
    expect(await status(app)).toMatchObject({ untrustedForwardedFor: false, requests: 0 });
    for (let i = 0; i < 3; i++)
      await getJson(`${app.url}/auth.html`, undefined, { 'x-forwarded-for': '203.0.113.9' });
    const seen = await status(app);
    expect(seen).toMatchObject({ untrustedForwardedFor: true, requests: 3 });
    expect(seen.hint).toMatch(/TRUST_PROXY/);
    expect(Date.parse(seen.since ?? '')).toBeGreaterThan(0);
  });

  it('stays quiet when the peer is a trusted proxy', async () => {
    const app = await startApp({ name: 'proxy-trusted', env: { TRUST_PROXY: 'loopback' } });
    apps.push(app);
    await getJson(`${app.url}/auth.html`, undefined, { 'x-forwarded-for': '203.0.113.9' });
    expect(await status(app)).toMatchObject({ untrustedForwardedFor: false, requests: 0 });
  });
});
