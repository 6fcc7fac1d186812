import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_BCRYPT_ROUNDS, DEV_SESSION_SECRET, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('gives working defaults for development', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.historySize).toBe(100);
    expect(c.historyOnJoin).toBe(50);
    expect(c.bcryptRounds).toBe(DEFAULT_BCRYPT_ROUNDS);
    expect(c.sessionSecret).toBe(DEV_SESSION_SECRET);
    expect(c.sessionSecretIsDefault).toBe(true);
    expect(c.instanceId).toMatch(/-\d+$/);
    expect(c.rateLimits.enabled).toBe(true);
    expect(c.cookieSecure).toBe('auto');
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads every documented variable', () => {
    const c = loadConfig({
      PORT: '8081',
      REDIS_URL: 'redis://cache:6380',
      REDIS_PREFIX: 'x:',
      SESSION_SECRET: 'a'.repeat(40),
      INSTANCE_ID: 'app-7',
      LOG_LEVEL: 'warn',
      TRUST_PROXY: '1',
      COOKIE_SECURE: 'true',
      ALLOWED_ORIGINS: 'https://chat.example.com, http://localhost:5173/',
      HISTORY_SIZE: '200',
      HISTORY_ON_JOIN: '20',
      BCRYPT_ROUNDS: '12',
      ADAPTER: 'classic',
      RATE_LIMITS: 'off',
    });
    expect(c).toMatchObject({
      port: 8081,
      redisUrl: 'redis://cache:6380',
      redisPrefix: 'x:',
      instanceId: 'app-7',
      logLevel: 'warn',
      trustProxy: 1,
      cookieSecure: true,
      historySize: 200,
      historyOnJoin: 20,
      bcryptRounds: 12,
      adapter: 'classic',
      sessionSecretIsDefault: false,
    });
    expect(c.allowedOrigins).toEqual(['https://chat.example.com', 'http://localhost:5173']);
    expect(c.rateLimits.enabled).toBe(false);
  });

  it('reads operators case-blind and the edit window, and refuses a malformed operator list', () => {
    const c = loadConfig({ ADMIN_USERS: ' Alice, bob.smith ,,', EDIT_WINDOW_MS: '60000' });
    expect([...c.adminUsers]).toEqual(['alice', 'bob.smith']);
    expect(c.editWindowMs).toBe(60_000);
    expect(loadConfig({}).adminUsers.size).toBe(0);
    expect(loadConfig({}).editWindowMs).toBe(15 * 60 * 1000);
    expect(() => loadConfig({ ADMIN_USERS: 'alice;drop' })).toThrow(ConfigError);
  });

  it('treats TRUST_PROXY words and lists as express expects', () => {
    expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'loopback, uniquelocal' }).trustProxy).toBe('loopback, uniquelocal');
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', BCRYPT_ROUNDS: '4', REDIS_URL: 'http://nope', ADAPTER: 'fast' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'BCRYPT_ROUNDS', 'REDIS_URL', 'ADAPTER']) expect(problems).toContain(name);
  });

  it('requires a real SESSION_SECRET in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/SESSION_SECRET/);
    expect(() => loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 'short' })).toThrow(/SESSION_SECRET/);
    expect(
      loadConfig({ NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(32) }).sessionSecretIsDefault,
    ).toBe(false);
  });

  it('refuses inconsistent history and presence settings and bad origins', () => {
    expect(() => loadConfig({ HISTORY_SIZE: '10', HISTORY_ON_JOIN: '20' })).toThrow(/HISTORY_ON_JOIN/);
    expect(() => loadConfig({ PRESENCE_LEASE_MS: '3000', PRESENCE_HEARTBEAT_MS: '2000' })).toThrow(
      /PRESENCE_HEARTBEAT_MS/,
    );
    expect(() => loadConfig({ ALLOWED_ORIGINS: 'not a url' })).toThrow(/ALLOWED_ORIGINS/);
  });

  it('reads the Redis topology of each mode', () => {
    expect(loadConfig({}).redis).toMatchObject({ mode: 'standalone', tls: false, commandTimeoutMs: 5000 });
    expect(
      loadConfig({
        REDIS_MODE: 'cluster',
        REDIS_CLUSTER_NODES: 'rediss://a:7000, rediss://b:7001',
        REDIS_PASSWORD: 'pw',
      }).redis,
    ).toMatchObject({
      mode: 'cluster',
      clusterNodes: ['rediss://a:7000', 'rediss://b:7001'],
      tls: true,
      password: 'pw',
    });
    expect(
      loadConfig({
        REDIS_MODE: 'sentinel',
        REDIS_SENTINELS: 's1:26379,[::1]:26380',
        REDIS_SENTINEL_MASTER: 'main',
        REDIS_TLS: 'true',
        REDIS_COMMAND_TIMEOUT_MS: '0',
      }).redis,
    ).toMatchObject({
      mode: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      sentinelMaster: 'main',
      tls: true,
      commandTimeoutMs: 0,
    });
  });

  it('reads the replica-ack settings: auto by default, a WAIT timeout below the command deadline', () => {
    expect(loadConfig({}).redis).toMatchObject({ ackReplicas: 'auto', ackTimeoutMs: 1000, ackGraceMs: 5000 });
    expect(loadConfig({ REDIS_ACK_REPLICAS: '0' }).redis.ackReplicas).toBe(0);
    // Unset, it stays within half the deadline; set, it must be below it.
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '400' }).redis.ackTimeoutMs).toBe(200);
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '0' }).redis.ackTimeoutMs).toBe(1000);
    expect(() => loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '400', REDIS_ACK_TIMEOUT_MS: '400' })).toThrow(
      /REDIS_ACK_TIMEOUT_MS/,
    );
    expect(() => loadConfig({ REDIS_ACK_REPLICAS: 'some' })).toThrow(/REDIS_ACK_REPLICAS/);
  });

  it('lists every topology problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ REDIS_MODE: 'sentinel', REDIS_SENTINELS: 'nohost, h:99999', REDIS_CLUSTER_NODES: 'x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('"nohost" is not host:port');
    expect(problems).toContain('"h:99999" is not host:port');
    expect(problems).toContain('REDIS_SENTINEL_MASTER: required');
    expect(problems).toContain('REDIS_CLUSTER_NODES: "x" is not a URL');
    expect(problems).toContain('REDIS_CLUSTER_NODES: only read when REDIS_MODE=cluster');
    expect(() => loadConfig({ REDIS_MODE: 'cluster' })).toThrow(/REDIS_CLUSTER_NODES: required/);
  });
});
