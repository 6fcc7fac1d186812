/**
 * Per-room read positions, in memory only. A room seen for the first time counts as read up to its
 * latest seq, so old history is never "unread"; a room created while we are online starts at 0.
 */
export class UnreadTracker {
  /** @type {Map<string, number>} */
  #lastRead = new Map();
  /** @type {Map<string, number>} */
  #latest = new Map();

  /**
   * A room that appeared while we were online: everything in it is new to us.
   * @param {string} room
   */
  seedNew(room) {
    if (!this.#lastRead.has(room)) this.#lastRead.set(room, 0);
  }

  /**
   * Everything up to `seq` in `room` has been seen.
   * @param {string} room
   * @param {number} seq
   */
  markRead(room, seq) {
    if (!Number.isFinite(seq)) return;
    this.#lastRead.set(room, Math.max(this.#lastRead.get(room) ?? 0, seq));
    this.#latest.set(room, Math.max(this.#latest.get(room) ?? 0, seq));
  }

  /**
   * Records the newest seq of a room and returns its unread count (0 for the room being read).
   * @param {string} room
   * @param {number} latestSeq
   * @param {boolean} isCurrent
   */
  update(room, latestSeq, isCurrent) {
    this.#latest.set(room, latestSeq);
    if (!this.#lastRead.has(room) || isCurrent) this.markRead(room, latestSeq);
    return this.unread(room);
  }

  /** @param {string} room */
  unread(room) {
    return Math.max(0, (this.#latest.get(room) ?? 0) - (this.#lastRead.get(room) ?? 0));
  }
}
