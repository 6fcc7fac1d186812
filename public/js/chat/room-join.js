/** Entering, joining, re-joining and catching up on the current room. */
import { accessError, joinError } from './error-text.js';
import { isObject } from './guards.js';
import { ask } from './socket-ask.js';

/** @typedef {import('./app.js').ChatApp} ChatApp */
/** @typedef {import('./types.js').Fail | import('./types.js').LocalFail} AnyFail */

const JOIN_RETRY_MS = 2000;
const ROOM_STORAGE_KEY = 'relay-chat.room';
const NOT_RECOVERED = 'Some messages could not be recovered while you were offline.';

/** Owns the join state of `app.room`: which join is current, what history is loaded, catch-ups. */
export class RoomJoiner {
  joining = false;
  /** Whether `room` got a join ack before, so a re-join can ask only for what was missed. */
  historyLoaded = false;
  #joinToken = 0;
  #focusAfterJoin = false;
  /** The last previous-messages page of the current room: what a resync shows. @type {unknown[]} */
  #lastPage = [];
  #catchUpAgain = false;

  /** @param {ChatApp} app */
  constructor(app) {
    this.app = app;
  }

  /**
   * A user's pick of a room (click, or after creating it).
   * @param {string} rawName
   */
  selectRoom(rawName) {
    const { app } = this;
    const name = rawName.trim().normalize('NFC'); // the server's canonical form of room names
    this.#focusAfterJoin = true;
    if (name === app.room && (app.joined || this.joining)) {
      if (app.joined) app.ui.messageInput.focus();
      return;
    }
    if (name !== app.room) this.enterRoom(name);
    if (app.socket.connected) this.join(undefined);
  }

  /** Reopens the room of the previous page load in this tab. */
  restoreRoom() {
    const name = window.sessionStorage.getItem(ROOM_STORAGE_KEY);
    if (name) this.enterRoom(name);
  }

  /**
   * Switches the view to `name`; the join itself is join's job.
   * @param {string} name
   */
  enterRoom(name) {
    const { app } = this;
    if (app.room) {
      // The room left keeps the badge of what was not seen: the server's marker decides.
      app.readMarker.flush();
      app.refreshUnread([app.room]);
    }
    app.typingNotifier.stop();
    app.room = name;
    app.joined = false;
    this.joining = false;
    this.historyLoaded = false;
    app.seq.epoch = undefined;
    this.#lastPage = [];
    window.sessionStorage.setItem(ROOM_STORAGE_KEY, name);

    app.messages.clear();
    for (const entry of app.outbox.forRoom(name)) app.messages.addOutgoing(entry);
    app.typingIndicator.clear();
    app.chrome.setRoomCount(null);
    app.ui.jumpLatest.hidden = true;
    app.rooms.setActive(name);
    app.rooms.setUnread(name, 0);
    app.rooms.setMentions(name, 0);
    app.chrome.setComposerEnabled(false);
    app.older.reset();
    this.refreshRoomInfo();
  }

  /** The header, title and room actions from what the sidebar knows of the current room now. */
  refreshRoomInfo() {
    const { app } = this;
    const shown = app.room === null ? null : app.rooms.displayName(app.room);
    app.chrome.showRoom(shown);
    app.chrome.updateTitle(shown);
    app.roomAdmin.show(app.room, app.room === null ? undefined : app.rooms.find(app.room));
  }

  /** Back to "no room" (the room vanished or cannot be joined). */
  exitRoom() {
    const { app } = this;
    window.sessionStorage.removeItem(ROOM_STORAGE_KEY);
    app.room = null;
    app.joined = false;
    this.joining = false;
    app.messages.clear();
    app.typingIndicator.clear();
    app.chrome.setRoomCount(null);
    app.rooms.setActive(null);
    app.chrome.setComposerEnabled(false);
    app.older.update();
    this.refreshRoomInfo();
  }

  /**
   * Joins `app.room`. With `since` the server sends only messages after it (a re-join);
   * previous-messages arrive before the ack. A newer join supersedes this one.
   * @param {number | undefined} since
   */
  async join(since) {
    const { app } = this;
    const room = app.room;
    if (room === null) return; // callers join only with a room chosen
    const token = ++this.#joinToken;
    this.joining = true;
    const epoch = app.seq.epoch;
    const payload = since === undefined ? room : epoch ? { room, since, epoch } : { room, since };
    // Opening the room: its read marker (asked beside the join) places the "New messages" divider.
    const reads = since === undefined ? app.refreshUnread([room]) : undefined;
    const ack = await ask(app.socket, 'join-room', payload);
    if (token !== this.#joinToken || room !== app.room) return;
    this.joining = false;
    if (!ack?.success) {
      this.#onJoinFailed(room, since, ack);
      return;
    }
    app.joined = true;
    this.historyLoaded = true;
    app.seq.epoch = typeof ack.epoch === 'string' ? ack.epoch : undefined;
    // Not continuous with what we show (history gone, or lost by Redis): show the page sent instead.
    if (since !== undefined && ack.recovered === false) this.#resync();
    app.messages.markJoined(Number(ack.latestSeq) || 0);
    app.chrome.setComposerEnabled(true);
    app.chrome.setRoomCount(Number(ack.count));
    app.unread.markRead(room, Math.max(Number(ack.latestSeq) || 0, app.messages.lastSeq));
    app.rooms.joined(room);
    app.rooms.setUnread(room, 0);
    app.rooms.setMentions(room, 0);
    this.refreshRoomInfo();
    app.messages.refreshActions();
    const latestSeq = Number(ack.latestSeq) || 0;
    reads?.then((entries) => {
      const read = entries.find((entry) => entry?.room === room);
      if (read && token === this.#joinToken && room === app.room) this.#showDivider(read.readSeq, latestSeq);
    });
    app.older.update();
    if (since !== undefined && ack.recovered === false) app.banner.notice(NOT_RECOVERED);
    app.outbox.resendPending(room);
    if (this.#focusAfterJoin) app.ui.messageInput.focus();
    this.#focusAfterJoin = false;
    app.noteSeen();
    if (this.#catchUpAgain) this.catchUp();
  }

  /**
   * The "New messages" divider at the read position, scrolled into view when it is above the
   * visible part (the read marker then moves only once the reader reaches the newest message).
   * A room never read (read seq 0) shows it only when it is a DM or private room we were added to;
   * a public room joined for the first time has no unread history.
   * @param {number} readSeq
   * @param {number} latestSeq
   */
  #showDivider(readSeq, latestSeq) {
    const { app } = this;
    if (!app.room || !(readSeq < latestSeq)) return;
    const record = app.rooms.find(app.room);
    if (readSeq === 0 && record?.visibility !== 'dm' && record?.visibility !== 'private') return;
    const divider = app.messages.showDivider(readSeq);
    const box = app.ui.chatBox;
    if (!divider) return;
    const above = divider.getBoundingClientRect().top - box.getBoundingClientRect().top;
    if (above < 0) box.scrollTop += above - 8;
  }

  /** Replaces the log by the page the server just sent (our unconfirmed messages stay at the bottom). */
  #resync() {
    const { app } = this;
    if (!app.room) return;
    app.messages.clear();
    for (const entry of app.outbox.forRoom(app.room)) app.messages.addOutgoing(entry);
    app.sender.confirmOwn(this.#lastPage);
    app.messages.add(this.#lastPage);
    app.older.reset();
  }

  /**
   * Fetches what the live stream missed with a `since` re-join on the open connection (a gap in
   * seq, a room-seq notice beyond what we hold, another epoch). One at a time; asked again meanwhile,
   * it runs once more when the current one is answered.
   */
  catchUp() {
    const { app } = this;
    this.#catchUpAgain = false;
    if (!app.room || !app.socket.connected) return;
    if (this.joining) {
      this.#catchUpAgain = true;
      return;
    }
    if (app.joined) this.join(app.messages.lastSeq);
  }

  /**
   * @param {string} room
   * @param {number | undefined} since
   * @param {AnyFail} ack
   */
  #onJoinFailed(room, since, ack) {
    const { app } = this;
    if (ack?.code === 'disconnected') return; // the next connect re-joins
    if (app.joined && (ack?.code === 'timeout' || ack?.code === 'unavailable')) {
      // A catch-up on the open connection (Redis still coming back): try again shortly.
      window.setTimeout(() => {
        if (app.room === room) this.catchUp();
      }, JOIN_RETRY_MS);
      return;
    }
    if (ack?.code === 'room_not_found') {
      app.chrome.notify(`The room “${app.rooms.displayName(room)}” does not exist any more.`);
      app.rooms.removeRoom(room);
      this.exitRoom();
      return;
    }
    const denied = accessError(ack, app.rooms.displayName(room));
    if (denied) {
      app.chrome.notify(denied);
      app.rooms.removeRoom(room);
      this.exitRoom();
      return;
    }
    if (ack?.code === 'timeout') {
      window.setTimeout(() => {
        if (app.room === room && !app.joined && !this.joining && app.socket.connected) this.join(since);
      }, JOIN_RETRY_MS);
      return;
    }
    app.chrome.notify(joinError(ack, room));
  }

  /** @param {unknown} messages  newest first, for the room just joined */
  onPreviousMessages(messages) {
    const { app } = this;
    if (!Array.isArray(messages) || !app.room) return;
    const forRoom = messages.filter((message) => isObject(message) && message.roomId === app.room);
    this.#lastPage = forRoom;
    app.sender.confirmOwn(forRoom);
    app.messages.add(forRoom);
    app.older.update();
  }
}
