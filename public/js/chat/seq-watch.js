/** Gap detection and epoch checks on the current room's seqs: decides when a catch-up is due. */
import { isObject } from './guards.js';

/** @typedef {import('./app.js').ChatApp} ChatApp */

/**
 * A gap in seq still open this long after it was seen is fetched (messages sent through different
 * instances may overtake each other by a few milliseconds; a lost one never comes).
 */
const GAP_GRACE_MS = 1000;

/** Watches seqs and epochs of the current room; asks the joiner for a catch-up when one is off. */
export class SeqWatch {
  /**
   * The room sequence's epoch our seqs count in (from the join ack); another one in a message or
   * notice means Redis lost writes and its counter went back: re-join instead of trusting the seq.
   * @type {string | undefined}
   */
  epoch = undefined;
  /** @type {number | undefined} */
  #gapTimer = undefined;

  /** @param {ChatApp} app */
  constructor(app) {
    this.app = app;
  }

  /**
   * A gap up to `seq` is fetched if still open after GAP_GRACE_MS.
   * @param {number} seq
   */
  watchGap(seq) {
    if (this.#gapTimer !== undefined) return;
    this.#gapTimer = window.setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.app.messages.lastSeq < seq) this.app.joiner.catchUp();
    }, GAP_GRACE_MS);
  }

  /**
   * Whether `epoch` (of a message or notice) differs from the one our seqs count in.
   * @param {unknown} epoch
   */
  otherEpoch(epoch) {
    return typeof epoch === 'string' && this.epoch !== undefined && epoch !== this.epoch;
  }

  /** @param {unknown} notice  `{room, seq, epoch}`: the room's latest seq, told by the server */
  onRoomSeq(notice) {
    const { app } = this;
    if (!isObject(notice) || notice.room !== app.room || !app.joined) return;
    const seq = Number(notice.seq);
    if (this.otherEpoch(notice.epoch)) app.joiner.catchUp();
    else if (Number.isFinite(seq) && seq > app.messages.lastSeq) this.watchGap(seq);
  }
}
