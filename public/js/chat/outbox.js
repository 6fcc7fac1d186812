import { newClientId } from './format.js';

/** @typedef {import('./types.js').OutboxEntry} OutboxEntry */
/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').Fail | import('./types.js').LocalFail} AnyFail */
/** @typedef {import('./types.js').Answer<'message'>} MessageAnswer */

/**
 * Our messages the server has not confirmed yet, per room. Sending is at-least-once (the same
 * clientId on every attempt); the server's clientId dedupe makes showing exactly-once.
 * A send refused `rate_limited` is not a failure: the outbox pauses until the limit's
 * `retryAfterMs`, then sends every waiting entry one at a time in the order they were typed
 * (messages typed meanwhile queue behind them), so a burst goes out by itself and in order.
 */
export class Outbox {
  /** @type {Map<string, OutboxEntry>} */
  #entries = new Map();
  /** Epoch ms before which nothing is sent (the server's rate-limit wait). */
  #pausedUntil = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #resumeTimer;
  #flushing = false;

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
    if (this.#holding()) return; // queued behind the waiting ones; the flush sends it in order
    this.#trySend(entry);
  }

  /** Whether sends wait for a rate limit to pass, or for the in-order flush after it. */
  #holding() {
    return this.#flushing || Date.now() < this.#pausedUntil;
  }

  /**
   * Pauses sending until `retryAfterMs` from now, then flushes in order.
   * @param {number} retryAfterMs
   */
  #pause(retryAfterMs) {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + Math.max(100, retryAfterMs));
    clearTimeout(this.#resumeTimer);
    this.#resumeTimer = setTimeout(() => void this.#flush(), this.#pausedUntil - Date.now());
  }

  /** Sends every waiting entry one at a time, oldest first; stops at a new rate limit. */
  async #flush() {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      for (const entry of [...this.#entries.values()]) {
        if (!this.#entries.has(entry.clientId) || entry.state !== 'pending' || entry.inFlight) continue;
        if (!this.canSend(entry.room)) continue; // other room, or offline: resendPending() takes it
        const ack = await this.#trySend(entry);
        if (ack && !ack.success && ack.code === 'rate_limited') return; // paused again by #onAck
      }
    } finally {
      this.#flushing = false;
    }
    // Typed while the last ones were flushing: send them now (they were held).
    if (!this.#holding()) for (const entry of this.#entries.values()) this.send(entry.clientId);
  }

  /**
   * After a (re-)join: sends every pending entry of that room that is not already on its way.
   * @param {string} room
   */
  resendPending(room) {
    if (this.#holding()) return; // the flush after the wait sends them, in order
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

  /**
   * @param {OutboxEntry} entry
   * @returns {Promise<MessageAnswer | undefined>} the ack, once handled
   */
  async #trySend(entry) {
    if (!this.canSend(entry.room)) return undefined; // stays pending; resendPending() picks it up after the join
    entry.attempt += 1;
    entry.inFlight = true;
    const attempt = entry.attempt;
    const ack = await this.emitMessage({ text: entry.text, clientId: entry.clientId });
    this.#onAck(entry, attempt, ack);
    return ack;
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
    if (fail?.code === 'rate_limited') {
      this.#pause(fail.retryAfterMs ?? 1000);
      this.#setState(entry, 'pending', fail); // still "sending…": it goes out after the wait
      return;
    }
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
