import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/protocol.js';
import { ChatClient } from '../helpers/chat-client.js';
import { request, startCluster, type TestCluster } from '../helpers/cluster.js';
import { eventually } from '../helpers/poll.js';
import { distinctSources } from '../helpers/routing.js';

/**
 * Issue 14 across a crash: an edit and a deletion made while one instance is SIGKILLed reach every
 * member of the room, the ones on the surviving instances live (`message-updated`,
 * `message-deleted`) and the ones whose instance died through the catch-up of their re-join after
 * reconnecting through nginx to another instance.
 */

let cluster: TestCluster;
const clients: ChatClient[] = [];
const MEMBERS_PER_INSTANCE = 2;

beforeAll(async () => {
  cluster = await startCluster({ instances: 3, env: { HISTORY_SIZE: '200' } });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await cluster?.stop();
});

describe('edit and delete during an instance kill (3 instances behind nginx)', () => {
  it('reach every member, also those whose instance died, through catch-up after reconnect', async () => {
    const sources = await distinctSources(cluster.nginxUrl, 3);
    const victim = cluster.instances[1];
    if (!victim) throw new Error('no instance 1');
    const members = new Map<string, ChatClient[]>();
    for (const { from, instance } of sources) {
      const here: ChatClient[] = [];
      for (let i = 0; i < MEMBERS_PER_INSTANCE; i++) {
        const c = await ChatClient.create(cluster.nginxUrl, { from });
        clients.push(c);
        here.push(c);
      }
      members.set(instance, here);
    }
    const doomed = members.get(victim.id) ?? [];
    const survivors = [...members].filter(([id]) => id !== victim.id).flatMap(([, cs]) => cs);
    expect(doomed).toHaveLength(MEMBERS_PER_INSTANCE);
    const [owner, sender] = survivors;
    if (!owner || !sender) throw new Error('two members on the surviving instances');

    const room = `Changes ${Date.now()}`;
    expect((await owner.emit('create-room', room)).success).toBe(true);
    for (const c of clients) expect((await c.join(room)).success).toBe(true);
    for (let i = 1; i <= 5; i++) expect(await sender.send(`line ${i}`)).toBe(true);
    const sent = sender.acked;
    await eventually(() => clients.every((c) => c.seen.size === 5), 'everyone holds the 5 messages', 10_000);

    // The doomed members reconnect only once the changes are made: what reaches them then can only
    // come through their re-join's catch-up (their own automatic reconnection is held back).
    for (const c of doomed) c.socket.io.reconnection(false);
    const downs = doomed.map((c) => new Promise<void>((r) => c.socket.once('disconnect', () => r())));
    await cluster.killInstance(1, 'SIGKILL');
    await Promise.all(downs);

    const edited = sent[1]!;
    const deleted = sent[2]!;
    const editAck = await sender.emit('edit-message', { room, seq: edited.seq, text: 'line 2, corrected' });
    expect(editAck).toMatchObject({ success: true, message: { text: 'line 2, corrected' } });
    const deleteAck = await owner.emit('delete-message', { room, seq: deleted.seq });
    expect(deleteAck).toMatchObject({ success: true, message: { deleted: true, text: '' } });
    const changedAt = Date.now();
    // The changing sockets learn the final state from their acks (the room hears it as events).
    sender.seen.set(edited.seq, editAck.message as Message);
    owner.seen.set(deleted.seq, deleteAck.message as Message);

    const finalState = (c: ChatClient) =>
      c.seen.get(edited.seq)?.text === 'line 2, corrected' &&
      c.seen.get(edited.seq)?.editedAt !== undefined &&
      c.seen.get(deleted.seq)?.deleted === true &&
      c.seen.get(deleted.seq)?.text === '' &&
      c.seen.get(1)?.text === 'line 1';
    await eventually(() => survivors.every(finalState), 'survivors got the changes live', 5_000);
    expect(doomed.some(finalState)).toBe(false);

    const caughtUp = doomed.map((c) => new Promise<Message[]>((r) => c.socket.once('previous-messages', r)));
    for (const c of doomed) {
      c.socket.io.reconnection(true);
      c.socket.connect();
    }
    const pages = await Promise.all(caughtUp);
    for (const page of pages) {
      expect(page.map((m) => [m.seq, m.text, m.deleted ?? false])).toEqual([
        [deleted.seq, '', true],
        [edited.seq, 'line 2, corrected', false],
      ]);
    }
    await eventually(() => doomed.every(finalState), 'the killed instance’s members caught up', 10_000);
    for (const c of doomed) expect(c.reconnects).toBe(1);
    console.info(
      `[figures] edit+delete during SIGKILL: ${survivors.length} members live, ${doomed.length} through ` +
        `catch-up, all final ${Date.now() - changedAt} ms after the changes`,
    );

    // The history over HTTP shows the final state too.
    const res = await request(`${cluster.nginxUrl}/api/rooms/${encodeURIComponent(room)}/messages`, {
      headers: { cookie: owner.cookie },
    });
    const history = (JSON.parse(res.body) as { messages: Message[] }).messages;
    expect(history.map((m) => m.text)).toEqual(['line 5', 'line 4', '', 'line 2, corrected', 'line 1']);
    await victim.restart();
  });
});
