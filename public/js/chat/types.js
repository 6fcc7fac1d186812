/**
 * Shapes from docs/protocol.md, for JSDoc only.
 *
 * @typedef {{ name: string, createdBy: string, createdAt: string }} Room
 * @typedef {{ id: string, seq: number, roomId: string, text: string, sender: string,
 *   timestamp: string, clientId?: string }} Message
 * @typedef {{ success: false, error: string, code: string, retryAfterMs?: number }} Fail
 * @typedef {{ clientId: string, room: string, text: string, createdAt: number,
 *   state: 'pending' | 'failed', attempt: number, inFlight: boolean }} OutboxEntry
 */
export {};
