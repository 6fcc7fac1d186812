import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { socketRoom } from '../../src/realtime/events.js';
import { createKeys } from '../../src/redis/keys.js';
import {
  redisCli,
  redisCluster,
  type ClusterNode,
  type RedisClusterDeployment,
} from '../../tools/cluster/redis-cluster.js';
import { chatThrough, expectNothingLost, useFailoverCluster } from '../helpers/failover-chat.js';

/**
 * A busy room's slots moved to another master while it chats, the way an operator rebalances a
 * cluster: CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE of the slot's keys in small batches (the
 * room's list, counter, epoch and clientIds; appends meanwhile are redirected with ASK or answer
 * TRYAGAIN, which the client retries), then SETSLOT NODE on every master. Both the slot of the
 * room's keys and the slot of its sharded pub/sub channel move (the channel's subscribers are
 * told to go, and re-subscribe on the new master). Every member must get every acked message
 * (gap repair allowed), none twice, and the history must hold them all.
 */

const PREFIX = 'chat:';

const suite = useFailoverCluster<RedisClusterDeployment>(
  'slot-migration',
  redisCluster({ nodeTimeoutMs: 2000 }),
  { REDIS_PREFIX: PREFIX },
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The master that serves `slot` now (CLUSTER SLOTS as `seed` sees it). */
async function ownerOf(slot: number, masters: readonly ClusterNode[]): Promise<ClusterNode> {
  const seed = masters[0];
  if (seed === undefined) throw new Error('no master');
  const lines = (await redisCli(seed.port, ['cluster', 'nodes'])).split('\n');
  for (const line of lines) {
    const [, address, flags, , , , , , ...ranges] = line.split(' ');
    if (!flags?.includes('master')) continue;
    for (const range of ranges) {
      const [from, to] = range.split('-').map(Number);
      if (from !== undefined && from <= slot && slot <= (to ?? from)) {
        const port = Number(/:(\d+)@/.exec(address ?? '')?.[1]);
        const node = masters.find((m) => m.port === port);
        if (node) return node;
      }
    }
  }
  throw new Error(`no master serves slot ${slot}`);
}

const idOf = async (node: ClusterNode) => (await redisCli(node.port, ['cluster', 'myid'])).trim();

/** Moves `slot` from `from` to `to` as an operator would, a few keys at a time. */
async function migrateSlot(
  slot: number,
  from: ClusterNode,
  to: ClusterNode,
  masters: readonly ClusterNode[],
): Promise<number> {
  const [fromId, toId] = await Promise.all([idOf(from), idOf(to)]);
  await redisCli(to.port, ['cluster', 'setslot', String(slot), 'importing', fromId]);
  await redisCli(from.port, ['cluster', 'setslot', String(slot), 'migrating', toId]);
  let moved = 0;
  for (;;) {
    const keys = (await redisCli(from.port, ['cluster', 'getkeysinslot', String(slot), '5']))
      .split('\n')
      .filter(Boolean);
    if (keys.length === 0) break;
    // prettier-ignore
    await redisCli(from.port, ['migrate', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys]);
    moved += keys.length;
    await sleep(150); // the room keeps chatting between batches: its keys are split meanwhile
  }
  // The new owner first, then the old one, then everyone else (no gossip wait).
  const order = [to, from, ...masters.filter((m) => m !== to && m !== from)];
  for (const node of order) await redisCli(node.port, ['cluster', 'setslot', String(slot), 'node', toId]);
  return moved;
}

describe('Redis Cluster slot migration during steady chat through nginx', () => {
  it("moves a busy room's keys and channel to another master: nothing acked lost, nothing twice", async () => {
    const room = 'Busy migrating room';
    const keys = createKeys(PREFIX);
    const keySlot = calculateSlot(keys.roomSeq(room));
    const channelSlot = calculateSlot(`${keys.adapterChannel}#/#${socketRoom(room)}#`);
    const masters = await suite.redis.masters();
    expect(masters.length).toBe(3);
    let movedKeys = 0;
    const moves: string[] = [];
    // Two senders and two readers in the room (each reader is checked against its sender's acks).
    const figures = await chatThrough(suite.cluster.nginx?.url ?? '', [room, room], async () => {
      for (const slot of [...new Set([keySlot, channelSlot])]) {
        const from = await ownerOf(slot, masters);
        const to = masters.find((m) => m !== from);
        if (to === undefined) throw new Error('no other master');
        movedKeys += await migrateSlot(slot, from, to, masters);
        moves.push(`slot ${slot} :${from.port} -> :${to.port}`);
      }
    });
    expectNothingLost(`redis cluster: slot migration ${moves.join(', ')}, ${movedKeys} keys`, figures);
    expect(movedKeys).toBeGreaterThanOrEqual(3); // the room's list, counter and epoch at least
    for (const slot of [keySlot, channelSlot]) {
      const owner = await ownerOf(slot, masters);
      expect(moves.some((m) => m.startsWith(`slot ${slot} `) && m.endsWith(`:${owner.port}`))).toBe(true);
    }
    for (const f of figures) expect(f.resumeMs).toBeLessThan(15_000);
  }, 180_000);
});
