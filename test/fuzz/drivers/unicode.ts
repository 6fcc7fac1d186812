import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import { connect } from '../../helpers/socket.js';
import { LEGACY_ROOMS_MAX, nameIdentity, ROOM_PAGE_MAX, type Message } from '../limits.js';
import { FIELD_NAMES, FIELD_TEXTS, lookalikePair, unicodeText, visible } from '../arbitraries/unicode.js';
import { Tally } from '../figures.js';
import { checkAck, expectedRoomName, isRecord } from '../oracles/ack.js';
import { checkHttp, parseJson } from '../oracles/http.js';
import { checkProperty, holds, type FuzzEnv, type PropertyOutcome } from '../runner.js';
import { preview } from '../wire.js';
import { sendHttp } from './http.js';

/**
 * Names and texts built from the Unicode classes that fool people (arbitraries/unicode.ts). Whatever
 * the server answers is a success or a known code; what it accepted reads the same everywhere: a
 * message's text in the ack, live on another instance, in history and in a catch-up on a third; a room's name in the ack,
 * on another instance the directory searched by its identity, the `room-created` delta, the newest
 * room of the bounded `update-rooms` (LEGACY_ROOMS_MAX), and a join from there; a username in the register answer,
 * /auth/me and a sign-in on other instances. The ack itself must hold what the protocol's schema
 * makes of what was sent (checkAck: canonical text, display name); every other view is compared
 * with the ack. Names are unique by identity: a lookalike of an existing room is `room_exists`.
 */

export interface Member {
  username: string;
  cookie: string;
  socket: Socket;
  /** Direct URL of the member's instance. */
  url: string;
}

const ack = async (socket: Socket, event: string, ...args: unknown[]): Promise<unknown> =>
  socket.timeout(5000).emitWithAck(event, ...args);

/** Messages a member receives, by clientId, awaited with a deadline. */
export function inbox(member: Member): (clientId: string) => Promise<Message> {
  const seen = new Map<string, Message>();
  const waiting = new Map<string, (m: Message) => void>();
  member.socket.on('chat-message', (m: Message) => {
    if (m.clientId === undefined) return;
    seen.set(m.clientId, m);
    waiting.get(m.clientId)?.(m);
  });
  return (clientId) =>
    new Promise((resolve, reject) => {
      const now = seen.get(clientId);
      if (now !== undefined) return resolve(now);
      const timer = setTimeout(
        () => reject(new Error(`no chat-message ${clientId} on ${member.url} within 5 s`)),
        5000,
      );
      waiting.set(clientId, (m) => {
        clearTimeout(timer);
        waiting.delete(clientId);
        resolve(m);
      });
    });
}

/** The text of message `seq` as a re-join with `since: seq - 1` delivers it (previous-messages). */
async function catchUpText(member: Member, room: string, seq: number): Promise<unknown> {
  let page: Message[] = [];
  const onPage = (messages: Message[]) => (page = messages);
  member.socket.on('previous-messages', onPage);
  try {
    // The server emits previous-messages before it answers the join: the page is in once the ack is.
    await ack(member.socket, 'join-room', { room, since: seq - 1 });
  } finally {
    member.socket.off('previous-messages', onPage);
  }
  return page.find((m) => m.seq === seq)?.text;
}

export interface TextOptions {
  env: FuzzEnv;
  name: string;
  room: string;
  sender: Member;
  /** In `room` on another instance. */
  reader: Member;
  /** On a third instance: reads the history over HTTP, and catches up by joining with `since`. */
  catchUp: Member;
  metricsToken: string;
  runs: number;
}

/** A message text: accepted → identical in the ack, live on another instance, and in history. */
export async function textProperty(o: TextOptions): Promise<{ outcome: PropertyOutcome; tally: Tally }> {
  const tally = new Tally();
  const received = inbox(o.reader);
  const outcome = await checkProperty(
    o.env,
    o.name,
    unicodeText(24),
    async (text) => {
      const clientId = randomUUID();
      const answer = await ack(o.sender.socket, 'message', { text, clientId });
      tally.add('payloads');
      tally.add('acks');
      const verdict = checkAck(
        o.sender.username,
        { event: 'message', args: [{ text, clientId }], mode: 'ack' },
        answer,
      );
      tally.add(`code:${verdict.code}`);
      holds(verdict.problems, 'ack');
      if (verdict.code !== 'ok' || !isRecord(answer) || !isRecord(answer.message)) return;
      const { text: stored, seq } = answer.message;
      const live = await received(clientId);
      const problems: string[] = [];
      if (live.text !== stored)
        problems.push(
          `reader on another instance got ${preview(live.text)}, the ack said ${preview(stored)}`,
        );
      const path = `/api/rooms/${encodeURIComponent(o.room)}/messages?before=${Number(seq) + 1}&limit=1`;
      const req = { method: 'GET', path, target: 0 as const, headers: { cookie: o.reader.cookie } };
      const res = await sendHttp(o.catchUp.url, req);
      tally.add('http');
      problems.push(...checkHttp(req, res, o.metricsToken).problems);
      const page = parseJson(res.body);
      const first =
        isRecord(page) && Array.isArray(page.messages) ? (page.messages[0] as unknown) : undefined;
      if (!isRecord(first) || first.seq !== seq || first.text !== stored)
        problems.push(`history holds ${preview(first)}, the ack said ${preview(stored)}`);
      const caught = await catchUpText(o.catchUp, o.room, Number(seq));
      if (caught !== stored)
        problems.push(
          `catch-up on a third instance gave ${preview(caught)}, the ack said ${preview(stored)}`,
        );
      holds(problems, `text ${preview(text)}`);
    },
    { numRuns: o.runs, examples: [...FIELD_TEXTS] },
  );
  return { outcome, tally };
}

export interface NameOptions {
  env: FuzzEnv;
  name: string;
  creator: Member;
  /** On another instance. */
  other: Member;
  metricsToken: string;
  runs: number;
}

/** Polls `cond` every 10 ms until it holds; false after 5 s. */
async function within5s(cond: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

const roomNames = (rooms: unknown): unknown[] =>
  Array.isArray(rooms) ? rooms.map((r: unknown) => (isRecord(r) ? r.name : undefined)) : [];

/**
 * What another instance shows of the rooms (protocol.md "Room directory"): a directory client's
 * `room-created` deltas, and a legacy client's `update-rooms`, which holds only the newest
 * LEGACY_ROOMS_MAX rooms (a longer one is a problem, recorded as it arrives).
 */
interface RoomViews {
  /** The directory client, on the other member's instance. */
  directory: Socket;
  /** Every `room-created` name the directory client got, in order. */
  created: unknown[];
  /** The legacy client's latest `update-rooms` names (oldest first). */
  legacy: unknown[];
  /** `update-rooms` lists over the bound. */
  oversized: number[];
  /** Display names accepted so far: a lower bound on the rooms that exist. */
  accepted: Set<string>;
}

async function openViews(o: NameOptions): Promise<RoomViews> {
  const directory = await connect(o.other.url, o.other.cookie, { auth: { directory: true } });
  const views: RoomViews = { directory, created: [], legacy: [], oversized: [], accepted: new Set() };
  directory.on('room-created', (room: unknown) => views.created.push(isRecord(room) ? room.name : room));
  o.other.socket.on('update-rooms', (rooms: unknown) => {
    views.legacy = roomNames(rooms);
    if (views.legacy.length > LEGACY_ROOMS_MAX) views.oversized.push(views.legacy.length);
  });
  // More rooms than the legacy list holds, so its bound and the directory's paging are in play.
  for (let i = 0; i <= LEGACY_ROOMS_MAX; i++) {
    const answer = await ack(o.creator.socket, 'create-room', `Directory filler ${i}`);
    if (!isRecord(answer) || !isRecord(answer.room)) throw new Error(`filler room: ${preview(answer)}`);
    views.accepted.add(String(answer.room.name));
  }
  return views;
}

/**
 * How many times `display` is in the directory pages that `q` finds, read to the last page with
 * `fetchPage` (pages of ROOM_PAGE_MAX); problems with a page are pushed to `problems`.
 */
async function countInDirectory(
  display: string,
  fetchPage: (cursor: string | undefined) => Promise<unknown>,
  problems: string[],
  where: string,
): Promise<number> {
  let count = 0;
  let cursor: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await fetchPage(cursor);
    if (
      !isRecord(page) ||
      !Array.isArray(page.rooms) ||
      (page.next !== null && typeof page.next !== 'string')
    ) {
      problems.push(`${where}: not a directory page: ${preview(page)}`);
      return count;
    }
    if (page.rooms.length > ROOM_PAGE_MAX) problems.push(`${where}: ${page.rooms.length} rooms in one page`);
    count += roomNames(page.rooms).filter((n) => n === display).length;
    if (page.next === null) return count;
    cursor = page.next;
  }
  problems.push(`${where}: still a next page after 100 pages`);
  return count;
}

/**
 * Creates a room and checks what became of it; returns the ack's code and the accepted display name.
 * An accepted room is, on another instance: found once by the directory searched with its name
 * identity (HTTP) and with a shorter prefix of it (`list-rooms`), announced once as `room-created`
 * to a directory client, the newest room of a legacy client's bounded `update-rooms`, joinable, and
 * refused as `room_exists` when created again.
 */
async function createAndCheck(
  o: NameOptions,
  views: RoomViews,
  name: string,
  tally: Tally,
): Promise<{ code: string; display?: string }> {
  const answer = await ack(o.creator.socket, 'create-room', name);
  tally.add('payloads');
  tally.add('acks');
  const verdict = checkAck(o.creator.username, { event: 'create-room', args: [name], mode: 'ack' }, answer);
  tally.add(`code:${verdict.code}`);
  holds(verdict.problems, 'create-room ack');
  if (verdict.code !== 'ok' || !isRecord(answer) || !isRecord(answer.room)) return { code: verdict.code };
  const display = String(answer.room.name);
  views.accepted.add(display);
  const problems: string[] = [];
  const identity = nameIdentity(display);

  // The directory over HTTP, searched with the whole identity (a prefix of itself).
  const byHttp = await countInDirectory(
    display,
    async (cursor) => {
      const query = new URLSearchParams({ q: identity, limit: String(ROOM_PAGE_MAX) });
      if (cursor !== undefined) query.set('cursor', cursor);
      const req = {
        method: 'GET',
        path: `/api/rooms?${query.toString()}`,
        target: 1 as const,
        headers: { cookie: o.other.cookie },
      };
      const res = await sendHttp(o.other.url, req);
      tally.add('http');
      problems.push(...checkHttp(req, res, o.metricsToken).problems);
      return parseJson(res.body);
    },
    problems,
    'GET /api/rooms',
  );
  if (byHttp !== 1) problems.push(`found ${byHttp} times on another instance by GET /api/rooms?q=<identity>`);

  // The directory over the socket, searched with a shorter prefix (half the identity's code points):
  // it finds every room whose identity starts with the prefix's identity (protocol.md).
  const points = [...identity];
  const prefix = points.slice(0, Math.ceil(points.length / 2)).join('');
  if (identity.startsWith(nameIdentity(prefix))) {
    const bySocket = await countInDirectory(
      display,
      async (cursor) => {
        const answer = await ack(views.directory, 'list-rooms', {
          q: prefix,
          limit: ROOM_PAGE_MAX,
          ...(cursor === undefined ? {} : { cursor }),
        });
        tally.add('payloads');
        tally.add('acks');
        return answer;
      },
      problems,
      'list-rooms',
    );
    if (bySocket !== 1)
      problems.push(`found ${bySocket} times on another instance by list-rooms q=${preview(prefix)}`);
  }

  // The delta to a directory client, and the newest room of the bounded legacy list.
  if (!(await within5s(() => views.created.includes(display))))
    problems.push('no room-created on another instance within 5 s');
  else if (views.created.filter((n) => n === display).length !== 1)
    problems.push('room-created more than once on another instance');
  if (!(await within5s(() => views.legacy.at(-1) === display)))
    problems.push(
      `not the newest room of update-rooms on another instance: ${preview(views.legacy.slice(-3))}`,
    );
  const least = Math.min(views.accepted.size, LEGACY_ROOMS_MAX);
  if (views.legacy.length < least)
    problems.push(
      `update-rooms holds ${views.legacy.length} rooms; at least ${least} exist (bound ${LEGACY_ROOMS_MAX})`,
    );
  // Reported once: the lists over the bound since the previous case.
  const oversized = views.oversized.splice(0);
  if (oversized.length > 0)
    problems.push(`update-rooms over its bound of ${LEGACY_ROOMS_MAX}: ${oversized.join(', ')} rooms`);

  const joined = await ack(o.other.socket, 'join-room', display);
  tally.add('payloads');
  tally.add('acks');
  if (!isRecord(joined) || joined.success !== true || joined.room !== display)
    problems.push(`join from another instance: ${preview(joined)}`);
  const again = await ack(o.other.socket, 'create-room', display);
  tally.add('payloads');
  tally.add('acks');
  if (!isRecord(again) || again.code !== 'room_exists') problems.push(`created twice: ${preview(again)}`);
  holds(problems, `room ${preview(display)}`);
  return { code: verdict.code, display };
}

/** Room names: one at a time, then pairs that look alike (two accepted rooms never show the same name). */
export async function nameProperties(o: NameOptions): Promise<{ outcomes: PropertyOutcome[]; tally: Tally }> {
  const tally = new Tally();
  const views = await openViews(o);
  try {
    const single = await checkProperty(
      o.env,
      o.name,
      unicodeText(10),
      async (name) => void (await createAndCheck(o, views, name, tally)),
      { numRuns: o.runs, examples: [...FIELD_NAMES] },
    );
    const base = fc.tuple(visible, unicodeText(4)).map(([v, u]) => `${v} ${u}`.trim());
    const pairs = await checkProperty(
      o.env,
      `${o.name}-pairs`,
      lookalikePair(base),
      async ([first, second]) => {
        const a = await createAndCheck(o, views, first, tally);
        const b = await createAndCheck(o, views, second, tally);
        if (a.display !== undefined && a.display === b.display)
          throw new Error(`two rooms named ${preview(a.display)}`);
        // Once a room has the first name's identity (created now or before), the second is room_exists.
        const [nameA, nameB] = [expectedRoomName(first), expectedRoomName(second)];
        if (
          (a.code === 'ok' || a.code === 'room_exists') &&
          nameA !== undefined &&
          nameB !== undefined &&
          nameIdentity(nameA) === nameIdentity(nameB) &&
          b.code !== 'room_exists'
        )
          throw new Error(`${preview(second)} answered ${b.code}, though ${preview(first)} has its identity`);
      },
      {
        numRuns: Math.ceil(o.runs / 2),
        examples: [['Weekend Hiking', 'WEEKEND HIKING'] as [string, string]],
      },
    );
    return { outcomes: [single, pairs], tally };
  } finally {
    views.directory.close();
  }
}
