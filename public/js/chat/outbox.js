import { newClientId } from './format.js';

/** @typedef {import('./types.js').OutboxEntry} OutboxEntry */
/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').Fail | import('./types.js').LocalFail} AnyFail */
/** @typedef {import('./types.js').Answer<'message'>} MessageAnswer */

/**
 * Our messages the server has not confirmed yet, per room. Sending is at-least-once (the same
 * clientId on every attempt); the server's clientId dedupe makes showing exactly-once.
 */
export class Outbox {
  /** @type {Map<string, OutboxEntry>} */
  #entries = new Map();

  /**
   * @param {object} deps
   * @param {(payload: import('./types.js').SendPayload) => Promise<MessageAnswer>} deps.emitMessage
   *   resolves to the ack, or to a Fail with code `timeout`/`disconnected`
   * @param {(room: string) => boolean} deps.canSend  connected and joined to that room
   * @param {(entry: OutboxEntry, message: Message) => void} deps.onConfirmed
   * @param {(entry: OutboxEntry, fail: AnyFail | null) => void} deps.onStateChange
   */
  constructor({ emitMessage, canSend, onConfirmed, onStateChange }) {
    this.emitMessage = emitMessage;
    this.canSend = canSend;
    this.onConfirmed = onConfirmed;
    this.onStateChange = onStateChange;
  }

  /**
   * Records a new message for `room`; call send() once it is on screen.
   * @param {string} room
   * @param {string} text
   * @returns {OutboxEntry}
   */
  add(room, text) {
    /** @type {OutboxEntry} */
    const entry = {
      clientId: newClientId(),
      room,
      text,
      createdAt: Date.now(),
      state: 'pending',
      attempt: 0,
      inFlight: false,
    };
    this.#entries.set(entry.clientId, entry);
    return entry;
  }

  /**
   * Unconfirmed entries of a room, oldest first (to re-show them after a room switch).
   * @param {string} room
   */
  forRoom(room) {
    return [...this.#entries.values()].filter((entry) => entry.room === room);
  }

  /**
   * Sends (or re-sends, after a failure) one entry, always with its original clientId.
   * @param {string} clientId
   */
  send(clientId) {
    const entry = this.#entries.get(clientId);
    if (!entry || entry.inFlight) return;
    if (entry.state === 'failed') this.#setState(entry, 'pending', null);
    this.#trySend(entry);
  }

  /**
   * After a (re-)join: sends every pending entry of that room that is not already on its way.
   * @param {string} room
   */
  resendPending(room) {
    for (const entry of this.forRoom(room)) {
      if (entry.state === 'pending' && !entry.inFlight) this.#trySend(entry);
    }
  }

  /**
   * The server stored it (ack, or seen in history after a lost ack): forget the entry.
   * @param {string} clientId
   */
  confirm(clientId) {
    this.#entries.delete(clientId);
  }

  /** @param {OutboxEntry} entry */
  #trySend(entry) {
    if (!this.canSend(entry.room)) return; // stays pending; resendPending() picks it up after the join
    entry.attempt += 1;
    entry.inFlight = true;
    const attempt = entry.attempt;
    this.emitMessage({ text: entry.text, clientId: entry.clientId }).then((ack) =>
      this.#onAck(entry, attempt, ack),
    );
  }

  /**
   * @param {OutboxEntry} entry
   * @param {number} attempt
   * @param {MessageAnswer | undefined} ack
   */
  #onAck(entry, attempt, ack) {
    if (attempt === entry.attempt) entry.inFlight = false;
    if (!this.#entries.has(entry.clientId)) return; // confirmed meanwhile
    if (ack?.success && ack.message) {
      this.#entries.delete(entry.clientId);
      this.onConfirmed(entry, ack.message);
      return;
    }
    if (attempt !== entry.attempt) return; // a newer attempt is on its way
    const fail = ack?.success ? undefined : ack;
    if (this.#shouldWaitForRejoin(entry, fail)) return;
    this.#setState(entry, 'failed', fail ?? null);
  }

  /**
   * A send cut off by a disconnect, or one that reached a fresh connection before its re-join
   * (`not_in_room`), is not a failure: it stays pending and is re-sent after the re-join.
   * @param {OutboxEntry} entry
   * @param {AnyFail | undefined} ack
   */
  #shouldWaitForRejoin(entry, ack) {
    if (ack?.code === 'disconnected') return true;
    const transient = ack?.code === 'timeout' || ack?.code === 'not_in_room';
    return transient && !this.canSend(entry.room);
  }

  /**
   * @param {OutboxEntry} entry
   * @param {OutboxEntry['state']} state
   * @param {AnyFail | null} fail
   */
  #setState(entry, state, fail) {
    entry.state = state;
    this.onStateChange(entry, fail);
  }
}
