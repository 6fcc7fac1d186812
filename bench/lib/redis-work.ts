import { BENCH_CLIENT_NAME } from './cluster.js';
import { ratio } from './stats.js';

/** What Redis did per message: INFO commandstats deltas and MONITOR round trips by connection role. */

/** Redis commands that are neither persistence nor adapter traffic (the bench's own, connection setup). */
const IGNORED_COMMANDS = new Set([
  'info',
  'ping',
  'client',
  'client|setname',
  'client|setinfo',
  'hello',
  'select',
  'command',
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
  'pubsub',
  'pubsub|numsub',
  'pubsub|shardnumsub',
]);
const PUBSUB_COMMANDS = new Set(['publish', 'spublish']);

export interface RedisWork {
  /** Commands other than pub/sub, per message (persistence and everything else the app asks for). */
  dataCmdsPerMsg: number;
  /** PUBLISH/SPUBLISH per message (the adapter's broadcast). */
  pubsubCmdsPerMsg: number;
  /** command → calls per message, largest first. */
  perMsg: Record<string, number>;
}

/** Per-command call deltas between two INFO commandstats readings. */
export function commandDeltas(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [cmd, calls] of after) {
    const d = calls - (before.get(cmd) ?? 0);
    if (d > 0) out.set(cmd, d);
  }
  return out;
}

export function redisWork(deltas: Map<string, number>, messages: number): RedisWork {
  let data = 0;
  let pubsub = 0;
  const list: [string, number][] = [];
  for (const [cmd, d] of deltas) {
    if (IGNORED_COMMANDS.has(cmd)) continue;
    if (PUBSUB_COMMANDS.has(cmd)) pubsub += d;
    else data += d;
    list.push([cmd, d]);
  }
  list.sort((a, b) => b[1] - a[1]);
  return {
    dataCmdsPerMsg: ratio(data, messages),
    pubsubCmdsPerMsg: ratio(pubsub, messages),
    perMsg: Object.fromEntries(
      list.slice(0, 8).map(([cmd, d]) => [cmd, Math.round((d / messages) * 1000) / 1000]),
    ),
  };
}

export interface RoundTrips {
  /** Per connection role (product: data, pub, sub; baseline: unnamed). */
  perMsgByRole: Record<string, number>;
  /** `role command` → per message. */
  perMsgByCommand: Record<string, number>;
}

export function roundTrips(
  counts: Map<string, Map<string, number>>,
  roles: Map<string, string>,
  messages: number,
): RoundTrips {
  const byRole: Record<string, number> = {};
  const byCommand: Record<string, number> = {};
  for (const [addr, perCmd] of counts) {
    const role = roles.get(addr) ?? 'gone';
    if (role === BENCH_CLIENT_NAME) continue;
    for (const [cmd, n] of perCmd) {
      byRole[role] = (byRole[role] ?? 0) + n;
      byCommand[`${role} ${cmd}`] = (byCommand[`${role} ${cmd}`] ?? 0) + n;
    }
  }
  const per = (o: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(o)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => [k, Math.round((n / messages) * 1000) / 1000]),
    );
  return { perMsgByRole: per(byRole), perMsgByCommand: per(byCommand) };
}
