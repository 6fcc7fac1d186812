/**
 * The docker tier: the real top-level docker-compose.yml and deploy/Dockerfile on a real engine,
 * driven through nginx on the published port. The checks run in order on one stack (each builds on
 * the state the previous one left) and log what they saw.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ChatClient } from '../helpers/chat-client.js';
import { request } from '../helpers/cluster.js';
import { sh } from './engine.js';
import { ComposeStack, addSourceAddresses, freePort, type Container } from './stack.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const tier = inject('dockerTier');
const started = Date.now();

function note(line: string): void {
  process.stdout.write(`[docker tier +${((Date.now() - started) / 1000).toFixed(0)} s] ${line}\n`);
}

let stack: ComposeStack;
/** nginx on the published port, from 127.0.0.1 (one client address: the bridge gateway). */
let published: string;
/** The published port reached through the bridge gateway, where source addresses survive. */
let viaGateway: string;
let sources: { addresses: string[]; remove: () => Promise<void> } | undefined;
const clients: ChatClient[] = [];

async function waitHealthy(service: string, count: number, timeoutMs = 120_000): Promise<Container[]> {
  return vi.waitFor(
    async () => {
      const up = (await stack.containers(service)).filter((c) => c.running);
      const healthy = up.filter((c) => c.health === 'healthy' || c.health === '');
      if (up.length !== count || healthy.length !== count)
        throw new Error(
          `${service}: ${healthy.length} of ${count} running and healthy (${up.length} running)`,
        );
      return up;
    },
    { timeout: timeoutMs, interval: 1000 },
  );
}

/** Which instance nginx sends requests from `from` to (X-Instance-Id of GET /readyz). */
async function instanceFor(from: string): Promise<string> {
  const res = await request(`${viaGateway}/readyz`, { from });
  return String(res.headers['x-instance-id'] ?? '');
}

/** Source addresses grouped by the instance nginx hashes them to. */
async function addressesByInstance(): Promise<Map<string, string[]>> {
  const by = new Map<string, string[]>();
  for (const a of sources?.addresses ?? []) {
    const id = await instanceFor(a);
    by.set(id, [...(by.get(id) ?? []), a]);
  }
  return by;
}

/**
 * A raw Engine.IO long-polling session: handshake, then three POSTs on its sid. Returns the POST
 * statuses: 200 each when every request reached the instance holding the session; 400 ("Session ID
 * unknown") when one was sent elsewhere, which is what a client sees as "xhr poll error".
 */
async function pollingSession(base: string, from?: string): Promise<number[]> {
  const hs = await request(`${base}/socket.io/?EIO=4&transport=polling`, from ? { from } : {});
  const sid = (JSON.parse(hs.body.slice(1)) as { sid: string }).sid;
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await request(`${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      body: '6',
      ...(from ? { from } : {}),
    });
    statuses.push(res.status);
  }
  return statuses;
}

async function newClient(
  base: string,
  transport: 'polling' | 'websocket',
  from?: string,
): Promise<ChatClient> {
  const client = await ChatClient.create(base, { transports: [transport], ...(from ? { from } : {}) });
  clients.push(client);
  return client;
}

/** Every client holds every seq 1..latest of its room and has nothing left unsent. */
async function expectNothingLost(group: ChatClient[], latest: number, timeoutMs = 60_000): Promise<void> {
  await expect
    .poll(() => group.map((c) => ({ user: c.username, contiguous: c.contiguous, pending: c.pending.size })), {
      timeout: timeoutMs,
      interval: 500,
    })
    .toEqual(group.map((c) => ({ user: c.username, contiguous: latest, pending: 0 })));
  for (const c of group) expect(c.liveDuplicates, `${c.username} live duplicates`).toBe(0);
}

/** The highest seq any client has seen. */
function latestSeq(group: ChatClient[]): number {
  return Math.max(0, ...group.flatMap((c) => [...c.seen.keys()]));
}

/** Sends from every client in turn every `everyMs` until `stop()` resolves; returns how many. */
async function chatWhile(group: ChatClient[], during: () => Promise<void>, everyMs = 400): Promise<number> {
  let running = true;
  let sent = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const c = group[i % group.length];
      if (c) {
        void c.send(`${c.username} #${i}`);
        sent++;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  try {
    await during();
  } finally {
    running = false;
    await loop;
  }
  return sent;
}

describe.skipIf(Boolean(tier.skip))('docker compose stack (real engine, real images)', () => {
  beforeAll(async () => {
    stack = new ComposeStack(tier.compose, await freePort());
    note(`compose: ${tier.compose.join(' ')}; project ${stack.project}; nginx on port ${stack.port}`);
    const t = Date.now();
    await stack.up(3, ['--build']);
    await waitHealthy('app', 3);
    note(`stack built and up (3 app replicas healthy) in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    published = `http://127.0.0.1:${stack.port}`;
    const net = await stack.gateway();
    viaGateway = `http://${net.gateway}:${stack.port}`;
    sources = await addSourceAddresses(net.bridge, net.subnet, 40);
    await vi.waitFor(
      async () => {
        if ((await request(`${published}/readyz`)).status !== 200) throw new Error('nginx not ready yet');
      },
      { timeout: 30_000, interval: 500 },
    );
  }, 900_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await sources?.remove();
    if (stack) {
      if (process.env.KEEP_STACK !== '1') await stack.down();
      note('stack removed (down -v)');
    }
  }, 300_000);

  it('every replica is healthy and ready, and nginx answers on the published port', async () => {
    const apps = await waitHealthy('app', 3);
    for (const app of apps) {
      const res = await request(`http://${app.ip}:3000/readyz`);
      expect(res.status, app.name).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ status: 'ready' });
    }
    const res = await request(`${published}/readyz`);
    expect(res.status).toBe(200);
    // Redis requires its password: the apps above reached it with REDIS_URL carrying it.
    const [redis] = await stack.containers('redis');
    expect(await sh('docker', ['exec', redis?.id ?? '', 'redis-cli', 'ping'])).toContain('NOAUTH');
    note(`healthy: ${apps.map((a) => a.name).join(', ')}; /readyz via nginx 200`);
  });

  it('WebSocket and long-polling clients both chat, many sessions from one address', async () => {
    const polling = await Promise.all(Array.from({ length: 6 }, () => newClient(published, 'polling')));
    const ws = await Promise.all(Array.from({ length: 2 }, () => newClient(published, 'websocket')));
    const group = [...polling, ...ws];
    await group[0]?.emit('create-room', 'Docker room');
    for (const c of group) expect((await c.join('Docker room')).success).toBe(true);
    for (const c of group) expect(await c.send(`hello from ${c.username}`)).toBe(true);
    await expectNothingLost(group, group.length, 20_000);
    // Every request of a session stayed on one instance: no polling client ever reconnected.
    expect(group.map((c) => c.reconnects)).toEqual(group.map(() => 0));
    for (const c of group) c.close();
    note(`6 polling + 2 WebSocket sessions from one address chatted (${group.length} messages each)`);
  });

  it('the old upstream (`hash … consistent` on one name) is not sticky; the shipped one is', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'old-nginx-'));
    const conf = readFileSync(path.join(ROOT, 'nginx.conf'), 'utf8').replace(
      /^(\s*)hash \$remote_addr;$/m,
      '$1hash $remote_addr consistent;',
    );
    expect(conf).toContain('hash $remote_addr consistent;');
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const id = (
      await sh('docker', [
        'run',
        '-d',
        '--network',
        `${stack.project}_default`,
        '-v',
        `${dir}/nginx.conf:/etc/nginx/nginx.conf:ro`,
        'nginx:1.27',
      ])
    ).trim();
    try {
      const ip = (
        await sh('docker', [
          'inspect',
          '--format',
          '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
          id,
        ])
      ).trim();
      await expect
        .poll(async () => (await request(`http://${ip}/readyz`).catch(() => ({ status: 0 }))).status)
        .toBe(200);
      const oldStatuses = (await Promise.all([1, 2, 3, 4].map(() => pollingSession(`http://${ip}`)))).flat();
      const newStatuses = (await Promise.all([1, 2, 3, 4].map(() => pollingSession(published)))).flat();
      note(
        `polling POSTs: old config ${JSON.stringify(oldStatuses)}; shipped ${JSON.stringify(newStatuses)}`,
      );
      expect(oldStatuses.filter((s) => s === 400).length).toBeGreaterThan(0);
      expect(newStatuses.every((s) => s === 200)).toBe(true);
    } finally {
      await sh('docker', ['rm', '-f', id]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('many addresses spread over every replica, each sticky; a message crosses replicas', async () => {
    const by = await addressesByInstance();
    note(`40 addresses over instances: ${[...by.values()].map((a) => a.length).join(' / ')}`);
    expect(by.size).toBe(3);
    for (const [, addrs] of by) {
      const first = addrs[0] ?? '';
      expect((await pollingSession(viaGateway, first)).every((s) => s === 200)).toBe(true);
    }
    const group = await Promise.all(
      [...by.values()].map((addrs, i) => newClient(viaGateway, i % 2 ? 'websocket' : 'polling', addrs[0])),
    );
    await group[0]?.emit('create-room', 'Across');
    for (const c of group) expect((await c.join('Across')).success).toBe(true);
    expect(await group[0]?.send('one message, every replica')).toBe(true);
    await expectNothingLost(group, 1, 15_000);
    for (const c of group) c.close();
    note('a message sent on one replica reached clients on all three');
  });

  it("a killed replica's users reconnect through nginx and lose nothing", async () => {
    const by = await addressesByInstance();
    const [victimId, victimAddrs = []] = [...by.entries()][0] ?? [];
    const [, otherAddrs = []] = [...by.entries()][1] ?? [];
    const onVictim = [
      await newClient(viaGateway, 'polling', victimAddrs[0]),
      await newClient(viaGateway, 'websocket', victimAddrs[1] ?? victimAddrs[0]),
    ];
    const sender = await newClient(viaGateway, 'websocket', otherAddrs[0]);
    const group = [...onVictim, sender];
    await sender.emit('create-room', 'Kill');
    for (const c of group) expect((await c.join('Kill')).success).toBe(true);
    const victim = (await stack.containers('app')).find((c) => victimId?.startsWith(c.id.slice(0, 12)));
    expect(victim, `container of ${victimId}`).toBeDefined();
    await sh('docker', ['kill', victim?.id ?? '']);
    note(`killed ${victim?.name} (${victimId})`);
    for (let i = 0; i < 5; i++) expect(await sender.send(`while ${victimId} is down #${i}`)).toBe(true);
    await expectNothingLost(group, 5, 30_000);
    expect(onVictim.every((c) => c.reconnects >= 1)).toBe(true);
    note(
      `its users reconnected (outages ms: ${onVictim.flatMap((c) => c.outages).join(', ')}) with all 5 messages`,
    );
    for (const c of group) c.close();
    await sh('docker', ['start', victim?.id ?? '']);
    await waitHealthy('app', 3);
  });

  it('a rolling restart of the app replicas with clients chatting loses nothing', async () => {
    const by = await addressesByInstance();
    const group: ChatClient[] = [];
    for (const addrs of by.values()) {
      group.push(await newClient(viaGateway, 'polling', addrs[0]));
      group.push(await newClient(viaGateway, 'websocket', addrs[1] ?? addrs[0]));
    }
    await group[0]?.emit('create-room', 'Rolling');
    for (const c of group) expect((await c.join('Rolling')).success).toBe(true);
    const apps = await stack.containers('app');
    const errors: number[] = [];
    const sent = await chatWhile(group, async () => {
      for (const app of apps) {
        // SIGTERM (drain), then start; meanwhile nginx keeps answering that replica's addresses.
        const restart = sh('docker', ['restart', '-t', '15', app.id]);
        const probes = (async () => {
          for (let i = 0; i < 10; i++) {
            for (const addrs of by.values()) {
              const res = await request(`${viaGateway}/healthz`, { from: addrs[0] ?? '' });
              if (res.status >= 500) errors.push(res.status);
            }
          }
        })();
        // The draining replica itself leaves readiness at once: 503, or its listener already closed.
        const leftAfterMs = await (async () => {
          const t = Date.now();
          for (;;) {
            const res = await request(`http://${app.ip}:3000/readyz`).catch(() => ({ status: 0 }));
            if (res.status !== 200) return Date.now() - t;
            if (Date.now() - t > 5000) return Infinity;
          }
        })();
        await Promise.all([restart, probes]);
        expect(leftAfterMs, `${app.name} still ready 5 s after SIGTERM`).toBeLessThan(5000);
        await waitHealthy('app', 3);
        note(`restarted ${app.name} (not ready ${leftAfterMs} ms after the restart began)`);
      }
    });
    const latest = latestSeq(group);
    await expectNothingLost(group, latest, 60_000);
    expect(latest).toBeGreaterThanOrEqual(sent);
    expect(errors, 'nginx 5xx while replicas drained').toEqual([]);
    note(`rolling restart: ${sent} messages sent, every client has all ${latest}, no 5xx through nginx`);
    for (const c of group) c.close();
  });

  it('Redis stopped: readiness stays 200 (degraded), the app answers unavailable; restarted: users and history kept', async () => {
    const alice = await newClient(published, 'websocket');
    await alice.emit('create-room', 'Persist');
    expect((await alice.join('Persist')).success).toBe(true);
    expect(await alice.send('before the Redis restart')).toBe(true);
    const [redis] = await stack.containers('redis');
    await sh('docker', ['stop', '-t', '10', redis?.id ?? '']);
    await expect
      .poll(async () => JSON.parse((await request(`${published}/readyz`)).body) as unknown, {
        timeout: 20_000,
      })
      .toMatchObject({ status: 'degraded' });
    expect((await request(`${published}/readyz`)).status).toBe(200);
    expect(await alice.emit('message', { text: 'during' })).toMatchObject({
      success: false,
      code: 'unavailable',
    });
    note('Redis stopped: /readyz 200 degraded through nginx, a message is answered `unavailable`');
    await sh('docker', ['start', redis?.id ?? '']);
    await waitHealthy('redis', 1);
    await expect
      .poll(async () => JSON.parse((await request(`${published}/readyz`)).body) as unknown, {
        timeout: 30_000,
      })
      .toMatchObject({ status: 'ready' });
    const me = await request(`${published}/auth/me`, { headers: { cookie: alice.cookie } });
    expect(me.status).toBe(200);
    const history = await request(`${published}/api/rooms/Persist/messages`, {
      headers: { cookie: alice.cookie },
    });
    expect(history.body).toContain('before the Redis restart');
    note('Redis restarted: the session, the user and the history are still there');
    alice.close();
  });

  it('`--scale app=5` is picked up by nginx after a reload, polling still sticky', async () => {
    const before = new Set((await addressesByInstance()).keys());
    await stack.up(5, ['--no-recreate']);
    const apps = await waitHealthy('app', 5);
    const unused = new Set((await addressesByInstance()).keys());
    expect(
      [...unused].every((id) => before.has(id)),
      'before the reload, only the old replicas',
    ).toBe(true);
    await stack.run(['exec', '-T', 'nginx', 'nginx', '-s', 'reload']);
    let by = new Map<string, string[]>();
    await expect
      .poll(async () => (by = await addressesByInstance()).size, { timeout: 20_000, interval: 1000 })
      .toBe(5);
    note(
      `after the reload, 40 addresses over ${apps.length} replicas: ${[...by.values()].map((a) => a.length).join(' / ')}`,
    );
    for (const addrs of by.values()) {
      expect((await pollingSession(viaGateway, addrs[0])).every((s) => s === 200)).toBe(true);
    }
    const fresh = [...by.entries()].filter(([id]) => !before.has(id));
    const a = await newClient(viaGateway, 'polling', fresh[0]?.[1][0]);
    const b = await newClient(
      viaGateway,
      'polling',
      [...by.entries()].find(([id]) => before.has(id))?.[1][0],
    );
    await a.emit('create-room', 'Scaled');
    for (const c of [a, b]) expect((await c.join('Scaled')).success).toBe(true);
    expect(await a.send('from a new replica')).toBe(true);
    await expectNothingLost([a, b], 1, 15_000);
    a.close();
    b.close();
    note('polling sessions on new and old replicas chat');
  });

  it('`up -d` again (containers recreated) signs nobody out: the secrets are not regenerated', async () => {
    const carol = await newClient(published, 'websocket');
    carol.close();
    // The session secret as the one-shot `secrets` service keeps it in its volume.
    const readSecret = () =>
      stack.run(['run', '--rm', '-T', '--entrypoint', 'cat', 'secrets', '/run/chat-secrets/session-secret']);
    const secretBefore = await readSecret();
    await stack.up(3, ['--force-recreate']);
    await waitHealthy('app', 3);
    await expect
      .poll(async () => (await request(`${published}/readyz`)).status, { timeout: 30_000 })
      .toBe(200);
    const me = await request(`${published}/auth/me`, { headers: { cookie: carol.cookie } });
    expect(me.status).toBe(200);
    const secretAfter = await readSecret();
    expect(secretAfter).toBe(secretBefore);
    expect(secretBefore.trim()).toMatch(/^[0-9a-f]{64}$/);
    note('after `up -d --force-recreate`: same session secret, the old cookie is still signed in');
  });
});

if (tier.skip) {
  describe('docker compose stack', () => {
    it.skip(`skipped: ${tier.skip ?? ''}`, () => undefined);
  });
}
