/** @typedef {import('./types.js').UnreadEntry} UnreadEntry */
/** @typedef {import('./types.js').MemberAnswer<'mark-read'>} MarkReadAnswer */

/** `mark-read` is sent at most once per this many ms (the latest seq seen wins). */
const MARK_READ_THROTTLE_MS = 1000;

/**
 * Per-room read positions and unread counts. Our own rooms and DMs have read markers on the server
 * (`unread`, `read-marker`): those answers are the truth, whatever this tab saw. Other rooms (the
 * directory) count in memory only: a room seen for the first time counts as read up to its latest
 * seq, so old history is never "unread"; a room created while we are online starts at 0.
 */
export class UnreadTracker {
  /** @type {Map<string, number>} */
  #lastRead = new Map();
  /** @type {Map<string, number>} */
  #latest = new Map();
  /** @type {Map<string, number>} */
  #mentions = new Map();
  /** The highest seq this tab asked `mark-read` for, per room: an answer that overtook it is older. */
  /** @type {Map<string, number>} */
  #sent = new Map();

  /**
   * This tab is moving the room's marker to `seq` (an `unread` answer may still show the old one).
   * @param {string} room
   * @param {number} seq
   */
  noteSent(room, seq) {
    this.#sent.set(room, Math.max(this.#sent.get(room) ?? 0, seq));
  }

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
    if ((this.#lastRead.get(room) ?? 0) >= (this.#latest.get(room) ?? 0)) this.#mentions.set(room, 0);
  }

  /**
   * The server's read marker and counts for one of our rooms (an `unread` answer).
   * @param {UnreadEntry} entry
   */
  applyServer(entry) {
    const { room } = entry;
    const readSeq = Number(entry.readSeq);
    const latestSeq = Number(entry.latestSeq);
    if (typeof room !== 'string' || !Number.isFinite(readSeq) || !Number.isFinite(latestSeq)) return;
    const sent = this.#sent.get(room) ?? 0;
    this.#lastRead.set(room, Math.max(readSeq, Math.min(sent, latestSeq)));
    this.#latest.set(room, Math.max(this.#latest.get(room) ?? 0, latestSeq));
    // Mentions above a marker this tab just moved are not counted there yet: none shown then.
    this.#mentions.set(room, sent > readSeq ? 0 : Math.max(0, Number(entry.mentions) || 0));
  }

  /**
   * Records the newest seq of a room and returns its unread count (0 for the room being read).
   * @param {string} room
   * @param {number} latestSeq
   * @param {boolean} isCurrent
   */
  update(room, latestSeq, isCurrent) {
    this.#latest.set(room, Math.max(this.#latest.get(room) ?? 0, latestSeq));
    if (!this.#lastRead.has(room) || isCurrent) this.markRead(room, latestSeq);
    return this.unread(room);
  }

  /** @param {string} room */
  unread(room) {
    return Math.max(0, (this.#latest.get(room) ?? 0) - (this.#lastRead.get(room) ?? 0));
  }

  /** @param {string} room */
  mentions(room) {
    return this.unread(room) > 0 ? (this.#mentions.get(room) ?? 0) : 0;
  }

  /**
   * The read position known for a room (undefined when never told).
   * @param {string} room
   */
  readSeq(room) {
    return this.#lastRead.get(room);
  }
}

/**
 * Sends `mark-read` when the newest messages of a room have been seen: throttled to one request
 * per second, only forward (the server keeps the highest too), retried on the next sighting after
 * a failure.
 */
export class ReadMarker {
  /** Highest seq asked for (or acked) per room. @type {Map<string, number>} */
  #sent = new Map();
  /** @type {Map<string, number>} */
  #pending = new Map();
  #timer = 0;
  #lastFlush = 0;

  /**
   * @param {(room: string, seq: number) => Promise<MarkReadAnswer>} markRead  the `mark-read` request
   * @param {(room: string, readSeq: number) => void} onAck
   */
  constructor(markRead, onAck) {
    this.markRead = markRead;
    this.onAck = onAck;
  }

  /**
   * Everything up to `seq` in `room` is on screen.
   * @param {string} room
   * @param {number} seq
   */
  seen(room, seq) {
    if (!Number.isInteger(seq) || seq < 1) return;
    if (seq <= (this.#sent.get(room) ?? 0) || seq <= (this.#pending.get(room) ?? 0)) return;
    this.#pending.set(room, seq);
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastFlush + MARK_READ_THROTTLE_MS - Date.now());
    this.#timer = window.setTimeout(() => this.#flush(), wait);
  }

  /** A new connection: the server's answers are the truth again. */
  reset() {
    this.#sent.clear();
  }

  /** Sends what is pending now (before leaving a room, so its badge is counted from there). */
  flush() {
    window.clearTimeout(this.#timer);
    this.#flush();
  }

  #flush() {
    this.#timer = 0;
    this.#lastFlush = Date.now();
    const batch = [...this.#pending];
    this.#pending.clear();
    for (const [room, seq] of batch) {
      const before = this.#sent.get(room) ?? 0;
      this.#sent.set(room, seq);
      this.markRead(room, seq).then((ack) => {
        if (ack.success) this.onAck(room, Number(ack.readSeq));
        else if ((this.#sent.get(room) ?? 0) === seq) this.#sent.set(room, before);
      });
    }
  }
}
