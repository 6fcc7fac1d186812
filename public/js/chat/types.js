/**
 * Wire shapes for JSDoc, taken from the server's protocol module (src/protocol.ts) as type-only
 * imports: nothing here exists at run time.
 *
 * @typedef {import('../../../src/protocol.js').Room} Room
 * @typedef {import('../../../src/protocol.js').RoomPage} RoomPage
 * @typedef {import('../../../src/protocol.js').RoomsHome} RoomsHome
 * @typedef {import('../../../src/protocol.js').Message} Message
 * @typedef {import('../../../src/protocol.js').Fail} Fail
 * @typedef {import('../../../src/protocol.js').RoomUsers} RoomUsers
 * @typedef {import('../../../src/protocol.js').TypingNotice} TypingNotice
 * @typedef {import('../../../src/protocol.js').InstanceInfo} InstanceInfo
 * @typedef {import('../../../src/protocol.js').AckEventName} AckEventName
 * @typedef {import('../../../src/protocol.js').ClientPayload<'message'>} SendPayload
 */
/**
 * @template {AckEventName} E
 * @typedef {import('../../../src/protocol.js').Ok<E>} Ok
 */
/**
 * A failure the client makes up itself: no answer in time, or no connection to ask over.
 * @typedef {{ success: false, error: string, code: 'timeout' | 'disconnected', retryAfterMs?: undefined }} LocalFail
 */
/**
 * What `ask` resolves to: the server's answer to `E`, or a local failure.
 * @template {AckEventName} E
 * @typedef {Ok<E> | Fail | LocalFail} Answer
 */
/**
 * The browser's socket, typed by the protocol's event maps.
 * @typedef {import('socket.io-client').Socket<import('../../../src/protocol.js').ServerToClientEvents,
 *   import('../../../src/protocol.js').ClientEmitEvents>} ChatSocket
 */
/**
 * A message typed here and not yet confirmed by the server.
 * @typedef {{ clientId: string, room: string, text: string, createdAt: number,
 *   state: 'pending' | 'failed', attempt: number, inFlight: boolean }} OutboxEntry
 */
/**
 * Private conversations (docs/protocol.md, issue 14): Room and Message with their additions, and
 * the acked events of membership, edits, read markers and moderation as `[payload, ack]` pairs,
 * all taken from src/protocol.ts.
 * @typedef {Room} ChatRoom
 * @typedef {Message} ChatMessage
 * @typedef {import('../../../src/protocol.js').AckResult<'unread'>['rooms'][number]} UnreadEntry
 * @typedef {'create-room' | 'open-dm' | 'invite' | 'remove-member' | 'room-members' | 'delete-room'
 *   | 'edit-message' | 'delete-message' | 'mark-read' | 'unread' | 'suspend-user'} MemberEventName
 * @typedef {{ [E in MemberEventName]: [import('../../../src/protocol.js').ClientPayload<E>,
 *   import('../../../src/protocol.js').AckResult<E>] }} MemberEvents
 */
/**
 * What `request` resolves to for one of MemberEvents.
 * @template {keyof MemberEvents} E
 * @typedef {({ success: true } & MemberEvents[E][1]) | Fail | LocalFail} MemberAnswer
 */
/**
 * What the signed-in page knows of its user (GET /auth/me).
 * @typedef {{ username: string, admin: boolean, editWindowMs: number }} Me
 */
export {};
