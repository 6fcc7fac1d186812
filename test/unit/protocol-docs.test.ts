import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ackSchemas,
  chatMessageSchema,
  CLIENT_EVENTS,
  CLIENT_ID_MAX_LENGTH,
  ERROR_CODES,
  failSchema,
  HISTORY_PAGE_MAX,
  HTTP_BODY_MAX_BYTES,
  LEGACY_ROOMS_MAX,
  MEMBERS_MAX,
  MEMBERS_PAGE_DEFAULT,
  MEMBERS_PAGE_MAX,
  MESSAGE_MAX,
  MY_ROOMS_MAX,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_BYTES,
  ROOM_NAME_MAX,
  ROOM_PAGE_DEFAULT,
  ROOM_PAGE_MAX,
  ROOM_STATS_MAX,
  roomSchema,
  roomUsersSchema,
  SERVER_EVENTS,
  SOCKET_PACKET_MAX_BYTES,
  typingNoticeSchema,
  USERNAME_MAX_LENGTH,
  USERNAME_MIN_LENGTH,
  WHO_CURSOR_MAX,
  WHO_PAGE_MAX,
  type AckEventName,
} from '../../src/protocol.js';

/** docs/protocol.md is checked against src/protocol.ts: both directions, names and fields. */
const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

/** The markdown section that starts with a line beginning with `heading`, up to the next table's end. */
function tableAfter(heading: string): string[][] {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start < 0) throw new Error(`docs/protocol.md has no "${heading}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows.slice(2); // header and separator
}

/** `event` names of a table's first column. */
const eventsOf = (rows: string[][]) => rows.map((r) => /^`([^`]+)`$/.exec(r[0] ?? '')?.[1] ?? `?${r[0]}`);

/** Top-level field names of the first `{ … }` in `text` (nested braces and types skipped). */
function topLevelFields(raw: string): string[] {
  const text = raw.replace(/\/\/[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  const open = text.indexOf('{');
  if (open < 0) return [];
  const fields: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text.slice(open)) {
    if (ch === '{' || ch === '[' || ch === '(' || ch === '<') depth++;
    if (ch === '}' || ch === ']' || ch === ')' || ch === '>') depth--;
    if (depth === 0) break;
    if (depth === 1 && (ch === ',' || ch === ';' || ch === '\n')) {
      fields.push(current);
      current = '';
    } else if (depth === 1 && ch !== '{') current += ch;
  }
  fields.push(current);
  return fields
    .map((f) => /^([A-Za-z_]\w*)\??(?:\s*:|$)/.exec(f.trim())?.[1])
    .filter((f): f is string => f !== undefined);
}

/** Fields of `type Name = { … }` in the shared-shapes block. */
function typeFields(name: string): string[] {
  const at = doc.indexOf(`type ${name} = {`);
  if (at < 0) throw new Error(`docs/protocol.md does not define type ${name}`);
  return topLevelFields(doc.slice(at));
}

const keys = (schema: { shape: Record<string, unknown> }) => Object.keys(schema.shape).sort();

describe('docs/protocol.md matches src/protocol.ts', () => {
  it('documents every client event and no other', () => {
    expect(eventsOf(tableAfter('Client → server')).sort()).toEqual([...CLIENT_EVENTS].sort());
  });

  it('documents every server event and no other', () => {
    expect(eventsOf(tableAfter('Server → client')).sort()).toEqual([...SERVER_EVENTS].sort());
  });

  it('documents the fields of Message, Room and Fail exactly', () => {
    expect(typeFields('Message').sort()).toEqual(keys(chatMessageSchema));
    expect(typeFields('Room').sort()).toEqual(keys(roomSchema));
    expect(typeFields('Fail').sort()).toEqual(keys(failSchema));
  });

  it('documents each ack: success plus exactly the fields the handler answers', () => {
    const rows = tableAfter('Client → server');
    for (const row of rows) {
      const event = eventsOf([row])[0] as string;
      if (!(event in ackSchemas)) {
        expect(row[2], `${event} has no ack`).toMatch(/no ack/);
        continue;
      }
      const schema = ackSchemas[event as AckEventName];
      expect(topLevelFields(row[2] ?? '').sort(), event).toEqual(
        ['success', ...Object.keys(schema.shape)].sort(),
      );
    }
  });

  it('documents the room-users and typing payloads exactly', () => {
    const rows = tableAfter('Server → client');
    const payload = (event: string) => rows.find((r) => r[0] === `\`${event}\``)?.[1] ?? '';
    expect(topLevelFields(payload('room-users')).sort()).toEqual(keys(roomUsersSchema));
    expect(topLevelFields(payload('typing')).sort()).toEqual(keys(typingNoticeSchema));
  });

  it('lists every error code and no other', () => {
    const line = /^Error codes[^:]*:([\s\S]*?)\n\n/m.exec(doc)?.[1] ?? '';
    const listed = [...line.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...ERROR_CODES].sort());
  });

  it('states the limits the schemas enforce', () => {
    expect(doc).toContain(`username: ${USERNAME_MIN_LENGTH}–${USERNAME_MAX_LENGTH} characters`);
    expect(doc).toContain(`password: ${PASSWORD_MIN_BYTES}–${PASSWORD_MAX_BYTES} bytes`);
    expect(doc).toContain(`room name: 1–${ROOM_NAME_MAX} characters`);
    expect(doc).toContain(`at most ${MESSAGE_MAX} characters`);
    expect(doc).toContain(`clientId: 1–${CLIENT_ID_MAX_LENGTH} characters`);
    expect(doc).toContain(`limit=<1..${HISTORY_PAGE_MAX}>`);
    expect(doc).toContain(`at most ${HTTP_BODY_MAX_BYTES} bytes (413`);
    expect(doc).toContain(`packet at\n  most ${SOCKET_PACKET_MAX_BYTES} bytes`);
    expect(doc).toContain(`the newest ${LEGACY_ROOMS_MAX} rooms (\`LEGACY_ROOMS_MAX\`)`);
    expect(doc).toContain(`\`MY_ROOMS_MAX\` = ${MY_ROOMS_MAX}`);
    expect(doc).toContain(`\`limit\` is 1–${ROOM_PAGE_MAX} (default ${ROOM_PAGE_DEFAULT})`);
    expect(doc).toContain(`(at most ${ROOM_STATS_MAX})`);
    expect(doc).toContain(`\`MEMBERS_MAX\` = ${MEMBERS_MAX}`);
    expect(doc).toContain(`\`limit\` 1–${MEMBERS_PAGE_MAX} (default ${MEMBERS_PAGE_DEFAULT})`);
    expect(doc).toContain(`first page of at most ${WHO_PAGE_MAX} names (\`WHO_PAGE_MAX\`)`);
    expect(doc).toContain(`\`limit\` 1–${WHO_PAGE_MAX}, default ${WHO_PAGE_MAX}`);
    expect(doc).toContain(`at most ${WHO_CURSOR_MAX} characters`);
  });
});
