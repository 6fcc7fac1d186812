import { readFileSync } from 'node:fs';
import type { SocketContext } from '../fuzz/arbitraries/socket-events.js';
import type { HttpContext, Target } from '../fuzz/arbitraries/http.js';
import { FuzzConnection, type ConnectionPlan } from '../fuzz/drivers/connection.js';
import { connect } from './socket.js';
import { signUp } from './app.js';
import { request, serving, type TestCluster } from './cluster.js';

/**
 * The fuzzer's glue to a running test cluster: the rooms, users and connections a fuzz pass needs
 * (names derived from the seed, so a replay meets the same world), and the health check after it.
 */

export interface FuzzWorld {
  socketCtx: SocketContext;
  httpCtx: HttpContext;
  /** Room the bystanders chat in (fuzz sockets may join it too). */
  bystanderRoom: string;
  /** Event workers: several per instance directly, and through nginx (one long-polling). */
  eventConnections: FuzzConnection[];
  /** Raw-packet workers: two instances directly, one through nginx long-polling. */
  rawConnections: FuzzConnection[];
  stableCookies: string[];
  volatileCookies: string[];
  url(target: Target): string;
}

const PASSWORD = 'fuzz-password-1';

/** A loopback source address that nginx's sticky hash sends to an instance other than app-1. */
export async function addressAwayFromFirst(cluster: TestCluster): Promise<string> {
  for (let k = 2; k < 60; k++) {
    const ip = `127.0.5.${k}`;
    const res = await request(`${cluster.nginxUrl}/healthz`, { from: ip });
    if (res.headers['x-instance-id'] !== 'app-1') return ip;
  }
  return '127.0.5.2';
}

export async function prepareFuzzWorld(
  cluster: TestCluster,
  opts: { seed: number; workersPerSocket: number; rateLimited: boolean },
): Promise<FuzzWorld> {
  const tag = opts.seed % 100000;
  const url = (t: Target) => (t === 'nginx' ? cluster.nginxUrl : cluster.url(t));
  const bystanderRoom = `Bystanders ${tag}`;
  const rooms = [
    'General',
    'Café',
    'Ελληνικά',
    '日本語 チャット',
    "O'Brien & co (#1)",
    '½ price',
    bystanderRoom,
  ];
  const setup = await signUp(cluster.url(0), `fz_setup_${tag}`, PASSWORD);
  const setupSocket = await connect(cluster.url(0), setup.cookie);
  try {
    for (const r of rooms) {
      const a = (await setupSocket.timeout(5000).emitWithAck('create-room', r)) as { success?: boolean };
      if (a.success !== true) throw new Error(`could not create room ${r}: ${JSON.stringify(a)}`);
    }
  } finally {
    setupSocket.close();
  }

  // Event workers: each its own connection, so a case that costs one connection costs no other case.
  const places: { target: Target; from?: string; polling: boolean; label: string }[] = [
    ...[0, 1, 2, 0, 1, 2].map((i, k) => ({
      target: i as Target,
      polling: false,
      label: `app-${i + 1}/${k}`,
    })),
    { target: 'nginx', from: '127.0.6.2', polling: false, label: 'nginx/ws-1' },
    { target: 'nginx', from: '127.0.6.3', polling: false, label: 'nginx/ws-2' },
    { target: 'nginx', from: '127.0.6.4', polling: true, label: 'nginx/polling' },
  ];
  const plans: ConnectionPlan[] = [];
  for (const [k, p] of places.entries()) {
    const user = await signUp(url(p.target), `fz_${tag}_s${k}`, PASSWORD);
    for (let w = 0; w < opts.workersPerSocket; w++)
      plans.push({
        label: `${p.label}#${w}`,
        url: url(p.target),
        cookie: user.cookie,
        username: user.username,
        polling: p.polling,
        from: p.from,
      });
  }
  const rawPlans: ConnectionPlan[] = [];
  for (const [k, target] of ([0, 1, 'nginx'] as const).entries()) {
    const user = await signUp(url(target), `fz_${tag}_r${k}`, PASSWORD);
    const nginx = target === 'nginx';
    rawPlans.push({
      label: `raw-${k + 1}`,
      url: url(target),
      cookie: user.cookie,
      username: user.username,
      polling: nginx,
      from: nginx ? '127.0.7.2' : undefined,
    });
  }

  // HTTP-only users: their cookies are what logout may destroy; socket users' never are.
  const cookieUsers = await Promise.all(
    [0, 1, 2, 0].map((i, k) => signUp(cluster.url(i), `fz_${tag}_c${k}`, PASSWORD)),
  );
  const users = await Promise.all(
    [0, 1].map(async (i) => {
      const password = `pw-${tag}-${i}-secret`;
      const u = await signUp(cluster.url(i), `fz_${tag}_u${i}`, password);
      return { username: u.username, password };
    }),
  );
  return {
    socketCtx: {
      rooms,
      newRooms: Array.from({ length: 30 }, (_, k) => (k % 3 === 0 ? `Nouvelle salle ${k}` : `New ${k}`)),
    },
    httpCtx: { rooms, users, newUsers: Array.from({ length: 40 }, (_, k) => `fz_${tag}_n${k}`) },
    bystanderRoom,
    eventConnections: plans.map((p) => new FuzzConnection(p, opts.rateLimited)),
    rawConnections: rawPlans.map((p) => new FuzzConnection(p, opts.rateLimited)),
    stableCookies: cookieUsers.slice(0, 2).map((u) => u.cookie),
    volatileCookies: cookieUsers.slice(2).map((u) => u.cookie),
    url,
  };
}

/** Lines of an instance's pino JSON log that signal a crash (fatal, unhandled, non-JSON) or an error. */
export function scanLog(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [`${file}: log file missing`];
  }
  const found: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let level: unknown;
    try {
      level = (JSON.parse(line) as { level?: unknown }).level;
    } catch {
      level = undefined;
    }
    if (typeof level !== 'number' || level >= 50 || /unhandled.?rejection|uncaught/i.test(line))
      found.push(line.slice(0, 800));
  }
  return found;
}

/** After a pass: the same pids still running, every instance ready, nothing alarming in any log. */
export async function clusterProblems(cluster: TestCluster, pids: readonly number[]): Promise<string[]> {
  const problems: string[] = [];
  cluster.instances.forEach((inst, i) => {
    if (!inst.running || inst.pid !== pids[i]) problems.push(`${inst.id} restarted or exited`);
  });
  for (const inst of cluster.instances) {
    if (!(await serving(inst.url))) problems.push(`${inst.id} /readyz is not 200 ready`);
  }
  for (const inst of cluster.instances)
    problems.push(
      ...scanLog(inst.logFile)
        .slice(0, 10)
        .map((l) => `${inst.id} log: ${l}`),
    );
  if (({} as Record<string, unknown>).polluted !== undefined)
    problems.push('Object.prototype was polluted in the test process');
  return problems;
}
