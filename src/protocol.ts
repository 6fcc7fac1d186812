/**
 * Wire protocol v1 in one place (docs/protocol.md): limits, the zod schemas of every client→server
 * payload and every server→client shape, their inferred types, and the event names. Imported by the
 * socket handlers, the event maps, the stores, the tests and (as JSDoc type imports) the browser
 * client, so this module must stay free of Node-only APIs.
 */
import { z } from 'zod';
import { AppError, ERROR_CODES, type ErrorCode } from './errors.js';
import { canonicalText, displayName, hasVisible } from './text-rules.js';

export const USERNAME_MIN_LENGTH = 3;
export const USERNAME_MAX_LENGTH = 32;
/** Usernames: 3–32 of A–Z a–z 0–9 _ . - (no separators that could reach other keys). */
export const USERNAME_RE = new RegExp(`^[A-Za-z0-9_.-]{${USERNAME_MIN_LENGTH},${USERNAME_MAX_LENGTH}}$`);
/** Room names: start with a letter or digit, then letters, digits, marks and a few punctuation marks. */
export const ROOM_NAME_RE = /^[\p{L}\p{N}][\p{L}\p{N}\p{M} _.\-'!?&()#]*$/u;
export const ROOM_NAME_MAX = 64;
export const MESSAGE_MAX = 2000;
export const CLIENT_ID_MAX_LENGTH = 64;
export const CLIENT_ID_RE = new RegExp(`^[A-Za-z0-9_-]{1,${CLIENT_ID_MAX_LENGTH}}$`);
export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 72;
/** History pages over HTTP: `limit` defaults to this many messages, and may ask for at most the max. */
export const HISTORY_PAGE_DEFAULT = 50;
export const HISTORY_PAGE_MAX = 100;
/** Room directory pages (`GET /api/rooms`, `list-rooms`): `limit` defaults to this many rooms, at most the max. */
export const ROOM_PAGE_DEFAULT = 20;
export const ROOM_PAGE_MAX = 100;
/** A directory search (`q`) holds at most this many characters; a cursor at most CURSOR_MAX. */
export const ROOM_QUERY_MAX = ROOM_NAME_MAX;
export const ROOM_CURSOR_MAX = 1024;
/** Rooms a user joined or created, newest first, kept per user and sent on connect: at most this many. */
export const MY_ROOMS_MAX = 40;
/** `update-rooms` (clients without the directory handshake) holds at most this many rooms: the newest ones. */
export const LEGACY_ROOMS_MAX = 100;
/** `room-stats` with a list of rooms answers at most this many. */
export const ROOM_STATS_MAX = 100;
/** Largest Socket.IO packet a client may send (engine.io closes the connection beyond it). */
export const SOCKET_PACKET_MAX_BYTES = 32 * 1024;
/** Largest JSON request body (HTTP 413 `payload_too_large` beyond it). */
export const HTTP_BODY_MAX_BYTES = 16 * 1024;

/** UTF-8 length of `s` in bytes (bcrypt reads at most 72). */
const utf8Bytes = (s: string): number => new TextEncoder().encode(s).length;

export const usernameSchema = z
  .string({ error: 'username must be a string' })
  .regex(USERNAME_RE, 'username must be 3–32 characters of letters, digits, _ . -');

export const passwordSchema = z
  .string({ error: 'password must be a string' })
  .refine((p) => utf8Bytes(p) >= PASSWORD_MIN_BYTES, 'password must be at least 8 bytes')
  .refine((p) => utf8Bytes(p) <= PASSWORD_MAX_BYTES, 'password must be at most 72 bytes');

export const credentialsSchema = z.object({ username: usernameSchema, password: passwordSchema });

export const roomNameSchema = z
  .string({ error: 'room name must be a string' })
  .max(ROOM_NAME_MAX * 4, 'room name is too long')
  // Rules in text-rules.ts: invisible characters dropped, NFC; identity (uniqueness) in the room store.
  .transform(displayName)
  .refine((s) => s.length > 0, 'room name must hold something visible')
  .refine((s) => [...s].length <= ROOM_NAME_MAX, `room name must be at most ${ROOM_NAME_MAX} characters`)
  .refine((s) => ROOM_NAME_RE.test(s), "room name may hold letters, digits, spaces and _ . - ' ! ? & ( ) #");

// ---- Private rooms and DMs (issue 14) ------------------------------------------------------

/** Members a private room or DM holds at most (`member_limit` beyond). */
export const MEMBERS_MAX = 1000;
/** `room-members` pages: `limit` defaults to this many members, at most the max. */
export const MEMBERS_PAGE_DEFAULT = 100;
export const MEMBERS_PAGE_MAX = MEMBERS_MAX;
/** Who sees a room: everyone (the directory), its members (private), the two people of a DM. */
export const ROOM_VISIBILITIES = ['public', 'private', 'dm'] as const;
export type RoomVisibility = (typeof ROOM_VISIBILITIES)[number];
/**
 * A DM's name: `@` + the two lower-cased usernames, sorted, joined by `+` (`@alice+bob`). Usernames
 * hold neither `@` nor `+` and room names start with a letter or digit, so it names nothing else.
 */
export const DM_NAME_RE = new RegExp(
  `^@[a-z0-9_.-]{${USERNAME_MIN_LENGTH},${USERNAME_MAX_LENGTH}}\\+[a-z0-9_.-]{${USERNAME_MIN_LENGTH},${USERNAME_MAX_LENGTH}}$`,
);

/** The DM room name of two usernames (either order, any case); protocol.md "Private rooms and DMs". */
export function dmName(a: string, b: string): string {
  return `@${[a.toLowerCase(), b.toLowerCase()].sort().join('+')}`;
}

export const dmNameSchema = z
  .string({ error: 'room name must be a string' })
  .regex(DM_NAME_RE, 'a direct-message room is named @user1+user2 (lower case, sorted)');

/**
 * Any existing room a client names: a room name (roomNameSchema's rules and transform) or a DM name.
 * Used by join-room, the history route, invite, remove-member, room-members, delete-room and the
 * message edits.
 */
export const chatRoomRefSchema = z
  .string({ error: 'room name must be a string' })
  .max(ROOM_NAME_MAX * 4, 'room name is too long')
  .transform((s, ctx) => {
    const parsed = s.startsWith('@') ? dmNameSchema.safeParse(s) : roomNameSchema.safeParse(s);
    if (parsed.success) return parsed.data;
    ctx.addIssue({ code: 'custom', message: parsed.error.issues[0]?.message ?? 'invalid room name' });
    return z.NEVER;
  });

/** `create-room`: a name (a public room, as before) or `{ name, visibility? }` (default public). */
export const createRoomSchema = z.union([
  roomNameSchema.transform((name) => ({ name, visibility: 'public' as 'public' | 'private' })),
  z.object({
    name: roomNameSchema,
    visibility: z
      .enum(['public', 'private'], { error: "visibility is 'public' or 'private'" })
      .default('public'),
  }),
]);

/** `open-dm`: the other person. */
export const openDmSchema = z.object({ user: usernameSchema });

/** `invite` and `remove-member`: a room and a username. */
export const memberChangeSchema = z.object({ room: chatRoomRefSchema, user: usernameSchema });

/** `room-members`: a room, and the page after `cursor` (the previous page's `next`). */
export const roomMembersQuerySchema = z.object({
  room: chatRoomRefSchema,
  cursor: z
    .string()
    .regex(/^[a-z0-9_.-]{1,32}$/, "cursor is the previous page's next")
    .optional(),
  limit: z.number().int().min(1).max(MEMBERS_PAGE_MAX).default(MEMBERS_PAGE_DEFAULT),
});

/** `delete-room`: the room. */
export const deleteRoomSchema = z.object({ room: chatRoomRefSchema });

// ---- end of issue 14 rooms block ---------------------------------------------------------------

/** A room sequence's epoch: an opaque token the server makes; changes when the counter may have gone back. */
export const EPOCH_MAX_LENGTH = 64;
export const epochSchema = z.string().min(1).max(EPOCH_MAX_LENGTH);

export const joinSchema = z.union([
  chatRoomRefSchema.transform((room) => ({
    room,
    since: undefined as number | undefined,
    epoch: undefined as string | undefined,
  })),
  z.object({
    room: chatRoomRefSchema,
    since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    /** The epoch of the client's `since` (optional: clients without epochs are served as before). */
    epoch: epochSchema.optional(),
  }),
]);

export const messageSchema = z.object({
  text: z
    .string({ error: 'text must be a string' })
    .max(MESSAGE_MAX, `a message holds at most ${MESSAGE_MAX} characters`)
    .transform(canonicalText)
    .refine(hasVisible, 'a message must hold something visible'),
  clientId: z.string().regex(CLIENT_ID_RE, 'clientId must be 1–64 of A–Z a–z 0–9 _ -').optional(),
});

export const typingSchema = z.boolean({ error: 'typing takes true or false' });

export const historyQuerySchema = z.object({
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(HISTORY_PAGE_MAX).default(HISTORY_PAGE_DEFAULT),
});

/** A directory page request: rooms whose name identity starts with `q`, after `cursor`, in identity order. */
export const roomQuerySchema = z.object({
  cursor: z.string().max(ROOM_CURSOR_MAX, 'cursor is too long').optional(),
  q: z
    .string()
    .max(ROOM_QUERY_MAX * 4, 'search text is too long')
    .optional(),
  limit: z.coerce.number().int().min(1).max(ROOM_PAGE_MAX).default(ROOM_PAGE_DEFAULT),
});
export type RoomQuery = z.input<typeof roomQuerySchema>;

/** `room-stats` payload: the rooms to count (the ones a client shows); none = the newest rooms. */
export const roomStatsQuerySchema = z
  .object({ rooms: z.array(z.string().max(ROOM_NAME_MAX * 4)).max(ROOM_STATS_MAX) })
  .optional();

/**
 * The Socket.IO handshake's `auth` of a client that speaks the room directory: it gets `rooms-home`
 * and `room-created` instead of the full-list `update-rooms`.
 */
export const handshakeAuthSchema = z.object({ directory: z.literal(true) });

// ---- Issue 14: message changes, read markers, moderation (client → server payloads) ----------

/** Mentions recorded per message: the first this many distinct `@username` tokens of existing users. */
export const MENTIONS_PER_MESSAGE_MAX = 10;
/** Mentions kept per user per room (the newest by seq). */
export const MENTIONS_KEPT_MAX = 1000;
/** `unread` with a list of rooms answers at most this many. */
export const UNREAD_ROOMS_MAX = 100;

/** The room a change names (an existing room or DM; resolved by identity like `join-room`). */
const changeRoomSchema = chatRoomRefSchema;
/** A seq of a change or read marker, each bad value answered with what is wrong (`min`: 1, or 0 for mark-read). */
const seqOf = (min: 0 | 1) =>
  z
    .number({ error: (issue) => (issue.input === undefined ? 'seq is missing' : 'seq must be a number') })
    // Integers beyond MAX_SAFE_INTEGER fail this check, not max.
    .int({ error: `seq must be a whole number, at most ${Number.MAX_SAFE_INTEGER}` })
    .min(min, { error: `seq must be at least ${min}` })
    .max(Number.MAX_SAFE_INTEGER, { error: `seq must be at most ${Number.MAX_SAFE_INTEGER}` });
const seqSchema = seqOf(1);

/** The text of a message, as `message` takes it. */
const messageTextSchema = messageSchema.shape.text;

export const editMessageSchema = z.object({
  room: changeRoomSchema,
  seq: seqSchema,
  text: messageTextSchema,
});
export const deleteMessageSchema = z.object({ room: changeRoomSchema, seq: seqSchema });
export const markReadSchema = z.object({
  room: changeRoomSchema,
  seq: seqOf(0),
});
/** `unread` payload: the rooms to count; none = the user's own rooms (rooms-home `mine`). */
export const unreadQuerySchema = z
  .object({
    rooms: z
      .array(z.string().max(ROOM_NAME_MAX * 4))
      .max(UNREAD_ROOMS_MAX)
      .optional(),
  })
  .optional();
export const suspendUserSchema = z.object({ user: usernameSchema, suspended: z.boolean() });

/** `@username` tokens of a text, lower-cased, distinct, in order of appearance, at most `max`. */
export function mentionsIn(text: string, max = MENTIONS_PER_MESSAGE_MAX): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(/(?:^|[^A-Za-z0-9_.-])@([A-Za-z0-9_.-]+)/g)) {
    // A sentence may end right after the name: `@bob.` names bob; a longer token names nobody.
    const name = (m[1] ?? '').replace(/[.-]+$/, '').toLowerCase();
    if (USERNAME_RE.test(name)) found.add(name);
    if (found.size >= max) break;
  }
  return [...found];
}

/** Parses at the edge: a failure becomes an `invalid_payload` AppError naming the first problem. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const first = result.error.issues[0];
  throw new AppError('invalid_payload', first?.message ?? 'invalid payload');
}

// ---- Server → client shapes ------------------------------------------------------------------

/** A room as stored in the `rooms` hash and sent in `update-rooms`. */
export const roomSchema = z.object({
  name: z.string(),
  createdBy: z.string(),
  /** ISO 8601. */
  createdAt: z.string(),
  /** Absent: public (rooms stored before issue 14). A private room's owner is `createdBy`. */
  visibility: z.enum(ROOM_VISIBILITIES).optional(),
  /** DMs only: the two usernames as registered, in the order of the DM's name. */
  members: z.tuple([z.string(), z.string()]).optional(),
});
export type Room = z.infer<typeof roomSchema>;

/** One page of the room directory; `next` is an opaque cursor, null on the last page. */
export const roomPageSchema = z.object({ rooms: z.array(roomSchema), next: z.string().nullable() });
export type RoomPage = z.infer<typeof roomPageSchema>;

/** What a directory client gets on connect: its own rooms (newest first) and the directory's first page. */
export const roomsHomeSchema = z.object({ mine: z.array(roomSchema), directory: roomPageSchema });
export type RoomsHome = z.infer<typeof roomsHomeSchema>;

/** A stored message: id, seq, sender and timestamp are set by the server. */
export const chatMessageSchema = z.object({
  /** Server-assigned, unique. */
  id: z.string(),
  /** Per-room sequence, 1, 2, 3, … */
  seq: z.number().int().min(1),
  /** The room sequence's epoch when it was stored (absent on messages stored before epochs existed). */
  epoch: z.string().optional(),
  /** The room's name. */
  roomId: z.string(),
  text: z.string(),
  /** Username from the session. */
  sender: z.string(),
  /** ISO 8601, server clock. */
  timestamp: z.string(),
  /** Echoed when the sender gave one. */
  clientId: z.string().optional(),
  /** ISO 8601: when the sender last edited the text (absent on messages never edited). */
  editedAt: z.string().optional(),
  /** A deleted message's tombstone: `text` is '', id/seq/sender/timestamp kept. */
  deleted: z.literal(true).optional(),
});
export type Message = z.infer<typeof chatMessageSchema>;

/** A signed-in user as HTTP answers show it. */
export const publicUserSchema = z.object({ username: z.string(), createdAt: z.string() });
export type PublicUser = z.infer<typeof publicUserSchema>;

export const roomUsersSchema = z.object({ room: z.string(), count: z.number().int().min(0) });
export type RoomUsers = z.infer<typeof roomUsersSchema>;

export const typingNoticeSchema = z.object({ room: z.string(), user: z.string(), typing: z.boolean() });
export type TypingNotice = z.infer<typeof typingNoticeSchema>;

/** A room's latest sequence and epoch, told to its members so a missed live message is noticed. */
export const roomSeqSchema = z.object({ room: z.string(), seq: z.number().int().min(0), epoch: z.string() });
export type RoomSeq = z.infer<typeof roomSeqSchema>;

/** A deleted message, told to the room: clients turn that seq into a tombstone. */
export const messageDeletedSchema = z.object({
  room: z.string(),
  seq: z.number().int().min(1),
  id: z.string(),
});
export type MessageDeleted = z.infer<typeof messageDeletedSchema>;

/** A user's read position in a room, told to their other sockets. */
export const readMarkerSchema = z.object({ room: z.string(), readSeq: z.number().int().min(0) });
export type ReadMarker = z.infer<typeof readMarkerSchema>;

/** One room's unread state for the asking user. */
export const unreadRoomSchema = z.object({
  room: z.string(),
  readSeq: z.number().int().min(0),
  latestSeq: z.number().int().min(0),
  /** max(0, latestSeq - readSeq). */
  unread: z.number().int().min(0),
  /** Messages above readSeq that mention the user. */
  mentions: z.number().int().min(0),
});
export type UnreadRoom = z.infer<typeof unreadRoomSchema>;
// ---- who pages (presence partitioned over buckets; store/presence.ts) ------------------------

/** `who` answers at most this many names per page; the no-payload form is the first page of this size. */
export const WHO_PAGE_MAX = 500;
/** A `who` cursor is opaque and holds at most this many characters. */
export const WHO_CURSOR_MAX = 64;

/** `who` payload: none (the first page), or a page after `cursor` (the `next` of the previous page). */
export const whoQuerySchema = z
  .object({
    cursor: z.string().max(WHO_CURSOR_MAX, 'cursor is too long').optional(),
    limit: z.number().int().min(1).max(WHO_PAGE_MAX).default(WHO_PAGE_MAX),
  })
  .optional();

/** One page of online usernames (sorted within the page); `next` is null on the last page. */
export const whoPageSchema = z.object({ users: z.array(z.string()), next: z.string().nullable() });
export type WhoPage = z.infer<typeof whoPageSchema>;

// ---- end of who pages ------------------------------------------------------------------------

/** Payload of each server → client event. */
export const serverEventSchemas = {
  'update-rooms': z.array(roomSchema),
  'rooms-home': roomsHomeSchema,
  'room-created': roomSchema,
  'previous-messages': z.array(chatMessageSchema),
  'chat-message': chatMessageSchema,
  onlineUsers: z.number().int().min(0),
  'room-users': roomUsersSchema,
  typing: typingNoticeSchema,
  'room-seq': roomSeqSchema,
  // Issue 14: membership (to a member's own sockets) and deletion.
  'room-added': roomSchema,
  'room-removed': z.object({ room: z.string() }),
  'room-deleted': z.object({ room: z.string() }),
  // Issue 14: message changes, read markers, moderation.
  'message-updated': chatMessageSchema,
  'message-deleted': messageDeletedSchema,
  'read-marker': readMarkerSchema,
  suspended: z.object({}),
} as const;
export type ServerEventName = keyof typeof serverEventSchemas;
export const SERVER_EVENTS = Object.keys(serverEventSchemas) as ServerEventName[];

/** The ack's fields beyond `success: true`, per client event that answers one. */
export const ackSchemas = {
  'create-room': z.object({ room: roomSchema }),
  'join-room': z.object({
    room: z.string(),
    latestSeq: z.number().int().min(0),
    /** The room sequence's epoch: `latestSeq` and the messages sent count in it. */
    epoch: z.string(),
    /**
     * False when the client must drop what it holds of the room and show the page sent instead:
     * Redis no longer kept everything after `since`, or `since` lies beyond what survived a loss
     * of writes (another epoch).
     */
    recovered: z.boolean(),
    count: z.number().int().min(0),
  }),
  'leave-room': z.object({}),
  message: z.object({ message: chatMessageSchema, duplicate: z.boolean() }),
  who: whoPageSchema,
  'list-rooms': roomPageSchema,
  'room-stats': z.object({
    rooms: z.array(
      z.object({ name: z.string(), members: z.number().int().min(0), latestSeq: z.number().int().min(0) }),
    ),
  }),
  // Issue 14: private rooms and DMs.
  'open-dm': z.object({ room: roomSchema }),
  invite: z.object({ room: z.string(), user: z.string() }),
  'remove-member': z.object({ room: z.string(), user: z.string() }),
  'room-members': z.object({ members: z.array(z.string()), next: z.string().nullable() }),
  'delete-room': z.object({}),
  // Issue 14: message changes, read markers, moderation.
  'edit-message': z.object({ message: chatMessageSchema }),
  'delete-message': z.object({ message: chatMessageSchema }),
  'mark-read': readMarkerSchema,
  unread: z.object({ rooms: z.array(unreadRoomSchema) }),
  'suspend-user': z.object({ user: z.string(), suspended: z.boolean() }),
} as const;
export type AckEventName = keyof typeof ackSchemas;
/** What a handler of `E` resolves to; the listener adds `success: true`. */
export type AckResult<E extends AckEventName> = z.infer<(typeof ackSchemas)[E]>;
export type Ok<E extends AckEventName> = { success: true } & AckResult<E>;

export { ERROR_CODES, type ErrorCode } from './errors.js';

/** HTTP status of each error code (the same code answers a socket ack): for oracles and docs. */
export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze(
  Object.fromEntries(ERROR_CODES.map((code) => [code, new AppError(code, '').status])) as Record<
    ErrorCode,
    number
  >,
);

/** Every failure, in HTTP bodies and socket acks alike. */
export const failSchema = z.object({
  success: z.literal(false),
  error: z.string(),
  code: z.enum(ERROR_CODES),
  /** Set with `rate_limited`: when to try again. */
  retryAfterMs: z.number().optional(),
});
export type Fail = z.infer<typeof failSchema>;
export type Ack<E extends AckEventName> = Ok<E> | Fail;

/** Every event a client may send; anything else is answered `invalid_payload`. */
export const CLIENT_EVENTS = [
  'create-room',
  'join-room',
  'leave-room',
  'message',
  'typing',
  'who',
  'room-stats',
  'list-rooms',
  'open-dm',
  'invite',
  'remove-member',
  'room-members',
  'delete-room',
  // Issue 14: message changes, read markers, moderation.
  'edit-message',
  'delete-message',
  'mark-read',
  'unread',
  'suspend-user',
] as const satisfies readonly (AckEventName | 'typing')[];
export type ClientEventName = (typeof CLIENT_EVENTS)[number];

/** The payload schema of each client event that carries one. */
export const clientPayloadSchemas = {
  'create-room': createRoomSchema,
  'join-room': joinSchema,
  message: messageSchema,
  typing: typingSchema,
  'list-rooms': roomQuerySchema,
  'room-stats': roomStatsQuerySchema,
  'open-dm': openDmSchema,
  invite: memberChangeSchema,
  'remove-member': memberChangeSchema,
  'room-members': roomMembersQuerySchema,
  'delete-room': deleteRoomSchema,
  // Issue 14: message changes, read markers, moderation.
  'edit-message': editMessageSchema,
  'delete-message': deleteMessageSchema,
  'mark-read': markReadSchema,
  unread: unreadQuerySchema,
  'suspend-user': suspendUserSchema,
  who: whoQuerySchema,
} as const satisfies Partial<Record<ClientEventName, z.ZodType>>;
/** What a client sends (schema input: `join-room` takes a name or `{room, since}`). */
export type ClientPayload<E extends keyof typeof clientPayloadSchemas> = z.input<
  (typeof clientPayloadSchemas)[E]
>;

// ---- Socket.IO event maps -------------------------------------------------------------------

/** Server → client events as a Socket.IO event map, typed from serverEventSchemas. */
export type ServerToClientEvents = {
  [E in ServerEventName]: (payload: z.infer<(typeof serverEventSchemas)[E]>) => void;
};

type AckFn<E extends AckEventName> = (ack: Ack<E>) => void;

/**
 * Client → server events as a well-behaved client emits them (the browser's socket type). The
 * server never trusts this: its handlers take `unknown[]` and parse every argument.
 */
export interface ClientEmitEvents {
  'create-room': (name: ClientPayload<'create-room'>, ack: AckFn<'create-room'>) => void;
  'join-room': (payload: ClientPayload<'join-room'>, ack: AckFn<'join-room'>) => void;
  'leave-room': (ack: AckFn<'leave-room'>) => void;
  message: (payload: ClientPayload<'message'>, ack: AckFn<'message'>) => void;
  typing: (typing: ClientPayload<'typing'>) => void;
  /** Also `who(query, ack)` for a page after a cursor (whoQuerySchema); the browser asks the first page. */
  who: (ack: AckFn<'who'>) => void;
  'room-stats': (query: ClientPayload<'room-stats'>, ack: AckFn<'room-stats'>) => void;
  'list-rooms': (query: ClientPayload<'list-rooms'>, ack: AckFn<'list-rooms'>) => void;
  'open-dm': (payload: ClientPayload<'open-dm'>, ack: AckFn<'open-dm'>) => void;
  invite: (payload: ClientPayload<'invite'>, ack: AckFn<'invite'>) => void;
  'remove-member': (payload: ClientPayload<'remove-member'>, ack: AckFn<'remove-member'>) => void;
  'room-members': (query: ClientPayload<'room-members'>, ack: AckFn<'room-members'>) => void;
  'delete-room': (payload: ClientPayload<'delete-room'>, ack: AckFn<'delete-room'>) => void;
  // Issue 14: message changes, read markers, moderation.
  'edit-message': (payload: ClientPayload<'edit-message'>, ack: AckFn<'edit-message'>) => void;
  'delete-message': (payload: ClientPayload<'delete-message'>, ack: AckFn<'delete-message'>) => void;
  'mark-read': (payload: ClientPayload<'mark-read'>, ack: AckFn<'mark-read'>) => void;
  unread: (query: ClientPayload<'unread'>, ack: AckFn<'unread'>) => void;
  'suspend-user': (payload: ClientPayload<'suspend-user'>, ack: AckFn<'suspend-user'>) => void;
}

// ---- HTTP answers ----------------------------------------------------------------------------

export const userResponseSchema = z.object({ success: z.literal(true), user: publicUserSchema });
export type UserResponse = z.infer<typeof userResponseSchema>;

/**
 * `GET /auth/me`: the signed-in user with its role (`admin`: an operator from ADMIN_USERS) and the
 * edit window in ms (EDIT_WINDOW_MS), so the page offers only the actions the server would allow.
 */
export const meResponseSchema = z.object({
  success: z.literal(true),
  user: publicUserSchema.extend({ admin: z.boolean() }),
  editWindowMs: z.number().int().min(0),
});
export type MeResponse = z.infer<typeof meResponseSchema>;

export const historyResponseSchema = z.object({
  success: z.literal(true),
  room: z.string(),
  /** Newest first, all with seq < before. */
  messages: z.array(chatMessageSchema),
  latestSeq: z.number().int().min(0),
  hasMore: z.boolean(),
});
export type HistoryResponse = z.infer<typeof historyResponseSchema>;

export const roomListResponseSchema = roomPageSchema.extend({ success: z.literal(true) });
export type RoomListResponse = z.infer<typeof roomListResponseSchema>;

export const instanceInfoSchema = z.object({
  id: z.string(),
  startedAt: z.string(),
  connections: z.number(),
  users: z.number(),
  lastSeen: z.string(),
  leaseExpiresAt: z.string(),
});
export type InstanceInfo = z.infer<typeof instanceInfoSchema>;
