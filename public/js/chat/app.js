import { byId } from '../lib/dom.js';
import { NetworkError, requestJson } from '../lib/http.js';
import { ConnectionBanner } from './banner.js';
import { connectSocket, Reconnector } from './connection.js';
import { joinError, sendError } from './error-text.js';
import { hasVisibleText, sameUser } from './format.js';
import { MessageList } from './message-list.js';
import { OlderHistory } from './older-history.js';
import { Outbox } from './outbox.js';
import { PageChrome } from './page-chrome.js';
import { Presence } from './presence.js';
import { RoomForm } from './room-form.js';
import { RoomsSidebar } from './rooms.js';
import { ask } from './socket-ask.js';
import { TypingIndicator, TypingNotifier } from './typing.js';
import { UnreadTracker } from './unread.js';

/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').OutboxEntry} OutboxEntry */
/** @typedef {import('./types.js').Fail | import('./types.js').LocalFail} AnyFail */
/** @typedef {import('./types.js').ChatSocket} ChatSocket */

const AUTH_URL = '/auth.html';
const STATS_INTERVAL_MS = 5000;
const JOIN_RETRY_MS = 2000;
const ROOM_STORAGE_KEY = 'relay-chat.room';
const NOT_RECOVERED = 'Some messages could not be recovered while you were offline.';
/**
 * A gap in seq still open this long after it was seen is fetched (messages sent through different
 * instances may overtake each other by a few milliseconds; a lost one never comes).
 */
const GAP_GRACE_MS = 1000;

/** Leaves for the sign-in page; `replace` so Back does not return to a signed-out chat. */
export function goToSignIn() {
  window.location.replace(AUTH_URL);
}

/**
 * Whether a payload is a plain object (socket payloads are untrusted input).
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isObject(value) {
  return typeof value === 'object' && value !== null;
}

/** The signed-in chat page: wires the socket, the sidebar, the message log and the composer. */
export class ChatApp {
  /**
   * Room being shown (or about to be), null before the first pick.
   * @type {string | null}
   */
  room = null;
  /** Whether the server confirmed the join of `room` on the current connection. */
  joined = false;
  #joining = false;
  /** Whether `room` got a join ack before, so a re-join can ask only for what was missed. */
  #historyLoaded = false;
  #joinToken = 0;
  #focusAfterJoin = false;
  #leaving = false;
  /**
   * The room sequence's epoch our seqs count in (from the join ack); another one in a message or
   * notice means Redis lost writes and its counter went back: re-join instead of trusting the seq.
   * @type {string | undefined}
   */
  #epoch = undefined;
  /** The last previous-messages page of the current room: what a resync shows. @type {unknown[]} */
  #lastPage = [];
  /** @type {number | undefined} */
  #gapTimer = undefined;
  #catchUpAgain = false;

  /** @param {string} me  the signed-in username, from GET /auth/me */
  constructor(me) {
    this.me = me;
    const ui = {
      userName: byId('user-name'),
      logout: byId('logout-button', window.HTMLButtonElement),
      currentRoom: byId('current-room'),
      roomCount: byId('room-count'),
      chatBox: byId('chat-box'),
      chatEmpty: byId('chat-empty'),
      jumpLatest: byId('jump-latest'),
      messageForm: byId('message-form', window.HTMLFormElement),
      messageInput: byId('message-input', window.HTMLInputElement),
      sendButton: byId('send-button', window.HTMLButtonElement),
      notice: byId('chat-notice'),
    };
    this.ui = ui;
    this.chrome = new PageChrome(ui);
    this.socket = connectSocket();
    this.reconnector = new Reconnector(this.socket, () => this.#leaving);
    this.banner = new ConnectionBanner(byId('connection-banner'));
    this.messages = new MessageList(this.ui.chatBox, {
      me,
      onRetry: (clientId) => this.outbox.send(clientId),
      onChange: () => this.chrome.renderEmptyState(this.messages.isEmpty, this.room !== null),
    });
    this.outbox = new Outbox({
      emitMessage: (payload) => ask(this.socket, 'message', payload),
      canSend: (room) => this.socket.connected && this.joined && room === this.room,
      onConfirmed: (entry, message) => this.#onOwnConfirmed(entry, message),
      onStateChange: (entry, fail) => this.#onDeliveryState(entry, fail),
    });
    this.older = new OlderHistory({
      button: byId('load-older'),
      focusFallback: this.ui.chatBox,
      messages: this.messages,
      currentRoom: () => this.room,
      onOlder: (older) => {
        const valid = older.filter(isObject);
        this.#confirmOwn(valid);
        this.messages.prepend(valid);
      },
      onUnauthorized: () => this.#leave(),
      notify: (text) => this.chrome.notify(text),
    });
    this.rooms = new RoomsSidebar({
      mineList: byId('room-list'),
      directoryList: byId('directory-list'),
      search: byId('room-search', window.HTMLInputElement),
      more: byId('directory-more', window.HTMLButtonElement),
      status: byId('directory-status'),
      listRooms: (query) => ask(this.socket, 'list-rooms', query),
      onSelect: (name) => this.selectRoom(name),
    });
    this.roomForm = new RoomForm({
      form: byId('create-room-form', window.HTMLFormElement),
      input: byId('room-input', window.HTMLInputElement),
      button: byId('create-room', window.HTMLButtonElement),
      error: byId('room-error'),
      create: (name) => ask(this.socket, 'create-room', name),
      onCreated: (name) => this.selectRoom(name),
    });
    this.unread = new UnreadTracker();
    this.presence = new Presence({
      countEl: byId('online-count'),
      listEl: byId('online-users-list'),
      me,
      fetchUsers: () => ask(this.socket, 'who'),
    });
    this.typingIndicator = new TypingIndicator(byId('typing-indicator'), me);
    this.typingNotifier = new TypingNotifier((typing) => {
      if (this.socket.connected && this.joined) this.socket.emit('typing', typing);
    });
  }

  start() {
    this.ui.userName.textContent = this.me;
    this.banner.connecting();
    this.#bindSocket();
    this.#bindDom();
    window.setInterval(() => this.#pollStats(), STATS_INTERVAL_MS);
  }

  // ---- connection -------------------------------------------------------------------------

  #bindSocket() {
    const { socket } = this;
    socket.on('connect', () => this.#onConnect());
    socket.on('disconnect', (reason) => this.#onDisconnect(reason));
    socket.on('connect_error', (error) => this.#onConnectError(error));
    socket.on('rooms-home', (home) => this.rooms.home(home));
    // Rooms that appear while we are online are new to us: all their messages count as unread.
    socket.on('room-created', (room) => {
      if (this.rooms.created(room)) this.unread.seedNew(room.name);
    });
    socket.on('previous-messages', (messages) => this.#onPreviousMessages(messages));
    socket.on('chat-message', (message) => this.#onChatMessage(message));
    socket.on('onlineUsers', (count) => this.presence.setCount(Number(count)));
    socket.on('room-users', (event) => this.#onRoomUsers(event));
    socket.on('room-seq', (notice) => this.#onRoomSeq(notice));
    socket.on('typing', (event) => {
      if (isObject(event) && event.room === this.room) this.typingIndicator.update(event);
    });
  }

  #onConnect() {
    this.reconnector.reset();
    this.banner.connected();
    if (!this.room) this.#restoreRoom();
    // After a reconnect only what was missed is asked for; the server dedupes by seq anyway.
    if (this.room) this.#join(this.#historyLoaded ? this.messages.lastSeq : undefined);
    this.#pollStats();
    this.presence.requestRefresh();
  }

  /** @param {string} reason  Socket.IO's disconnect reason */
  #onDisconnect(reason) {
    this.joined = false;
    this.#joining = false;
    this.typingNotifier.reset();
    this.typingIndicator.clear();
    if (this.#leaving) return;
    if (reason === 'io server disconnect') {
      // Logged out (here or in another tab): the session is gone, a reconnect would be refused.
      this.#leave();
      return;
    }
    this.banner.reconnecting();
  }

  /** @param {Error} error */
  #onConnectError(error) {
    if (error?.message === 'unauthorized') {
      this.#leave();
      return;
    }
    if (error?.message === 'forbidden_origin') {
      this.banner.error('This address is not allowed to connect to the chat server.');
      return;
    }
    this.banner.reconnecting();
    // A refusal by the server's middleware stops Socket.IO's own retries; keep trying with backoff.
    if (!this.socket.active) this.reconnector.schedule();
  }

  /** Ends the chat for good (signed out or session gone). */
  #leave() {
    this.#leaving = true;
    this.socket.disconnect();
    goToSignIn();
  }

  async #logout() {
    this.#leaving = true; // the server's "io server disconnect" is expected from here on
    this.ui.logout.disabled = true;
    try {
      await requestJson('/auth/logout', { method: 'POST' });
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      this.#leaving = false;
      this.ui.logout.disabled = false;
      this.chrome.notify('Could not reach the server to log out. Please try again.');
      return;
    }
    this.#leave();
  }

  // ---- rooms --------------------------------------------------------------------------------

  /**
   * A user's pick of a room (click, or after creating it).
   * @param {string} rawName
   */
  selectRoom(rawName) {
    const name = rawName.trim().normalize('NFC'); // the server's canonical form of room names
    this.#focusAfterJoin = true;
    if (name === this.room && (this.joined || this.#joining)) {
      if (this.joined) this.ui.messageInput.focus();
      return;
    }
    if (name !== this.room) this.#enterRoom(name);
    if (this.socket.connected) this.#join(undefined);
  }

  /** Reopens the room of the previous page load in this tab. */
  #restoreRoom() {
    const name = window.sessionStorage.getItem(ROOM_STORAGE_KEY);
    if (name) this.#enterRoom(name);
  }

  /**
   * Switches the view to `name`; the join itself is #join's job.
   * @param {string} name
   */
  #enterRoom(name) {
    if (this.room) this.unread.markRead(this.room, this.messages.lastSeq);
    this.typingNotifier.stop();
    this.room = name;
    this.joined = false;
    this.#joining = false;
    this.#historyLoaded = false;
    this.#epoch = undefined;
    this.#lastPage = [];
    window.sessionStorage.setItem(ROOM_STORAGE_KEY, name);

    this.messages.clear();
    for (const entry of this.outbox.forRoom(name)) this.messages.addOutgoing(entry);
    this.typingIndicator.clear();
    this.chrome.showRoom(name);
    this.chrome.setRoomCount(null);
    this.ui.jumpLatest.hidden = true;
    this.rooms.setActive(name);
    this.rooms.setUnread(name, 0);
    this.chrome.setComposerEnabled(false);
    this.older.reset();
    this.chrome.updateTitle(this.room);
  }

  /** Back to "no room" (the room vanished or cannot be joined). */
  #exitRoom() {
    window.sessionStorage.removeItem(ROOM_STORAGE_KEY);
    this.room = null;
    this.joined = false;
    this.#joining = false;
    this.messages.clear();
    this.typingIndicator.clear();
    this.chrome.showRoom(null);
    this.chrome.setRoomCount(null);
    this.rooms.setActive(null);
    this.chrome.setComposerEnabled(false);
    this.older.update();
    this.chrome.updateTitle(this.room);
  }

  /**
   * Joins `this.room`. With `since` the server sends only messages after it (a re-join);
   * previous-messages arrive before the ack. A newer join supersedes this one.
   * @param {number | undefined} since
   */
  async #join(since) {
    const room = this.room;
    if (room === null) return; // callers join only with a room chosen
    const token = ++this.#joinToken;
    this.#joining = true;
    const epoch = this.#epoch;
    const payload = since === undefined ? room : epoch ? { room, since, epoch } : { room, since };
    const ack = await ask(this.socket, 'join-room', payload);
    if (token !== this.#joinToken || room !== this.room) return;
    this.#joining = false;
    if (!ack?.success) {
      this.#onJoinFailed(room, since, ack);
      return;
    }
    this.joined = true;
    this.#historyLoaded = true;
    this.#epoch = typeof ack.epoch === 'string' ? ack.epoch : undefined;
    // Not continuous with what we show (history gone, or lost by Redis): show the page sent instead.
    if (since !== undefined && ack.recovered === false) this.#resync();
    this.messages.markJoined(Number(ack.latestSeq) || 0);
    this.chrome.setComposerEnabled(true);
    this.chrome.setRoomCount(Number(ack.count));
    this.unread.markRead(room, Math.max(Number(ack.latestSeq) || 0, this.messages.lastSeq));
    this.rooms.joined(room);
    this.rooms.setUnread(room, 0);
    this.older.update();
    if (since !== undefined && ack.recovered === false) this.banner.notice(NOT_RECOVERED);
    this.outbox.resendPending(room);
    if (this.#focusAfterJoin) this.ui.messageInput.focus();
    this.#focusAfterJoin = false;
    if (this.#catchUpAgain) this.#catchUp();
  }

  /** Replaces the log by the page the server just sent (our unconfirmed messages stay at the bottom). */
  #resync() {
    if (!this.room) return;
    this.messages.clear();
    for (const entry of this.outbox.forRoom(this.room)) this.messages.addOutgoing(entry);
    this.#confirmOwn(this.#lastPage);
    this.messages.add(this.#lastPage);
    this.older.reset();
  }

  /**
   * Fetches what the live stream missed with a `since` re-join on the open connection (a gap in
   * seq, a room-seq notice beyond what we hold, another epoch). One at a time; asked again meanwhile,
   * it runs once more when the current one is answered.
   */
  #catchUp() {
    this.#catchUpAgain = false;
    if (!this.room || !this.socket.connected) return;
    if (this.#joining) {
      this.#catchUpAgain = true;
      return;
    }
    if (this.joined) this.#join(this.messages.lastSeq);
  }

  /**
   * A gap up to `seq` is fetched if still open after GAP_GRACE_MS.
   * @param {number} seq
   */
  #watchGap(seq) {
    if (this.#gapTimer !== undefined) return;
    this.#gapTimer = window.setTimeout(() => {
      this.#gapTimer = undefined;
      if (this.messages.lastSeq < seq) this.#catchUp();
    }, GAP_GRACE_MS);
  }

  /**
   * Whether `epoch` (of a message or notice) differs from the one our seqs count in.
   * @param {unknown} epoch
   */
  #otherEpoch(epoch) {
    return typeof epoch === 'string' && this.#epoch !== undefined && epoch !== this.#epoch;
  }

  /** @param {unknown} notice  `{room, seq, epoch}`: the room's latest seq, told by the server */
  #onRoomSeq(notice) {
    if (!isObject(notice) || notice.room !== this.room || !this.joined) return;
    const seq = Number(notice.seq);
    if (this.#otherEpoch(notice.epoch)) this.#catchUp();
    else if (Number.isFinite(seq) && seq > this.messages.lastSeq) this.#watchGap(seq);
  }

  /**
   * @param {string} room
   * @param {number | undefined} since
   * @param {AnyFail} ack
   */
  #onJoinFailed(room, since, ack) {
    if (ack?.code === 'disconnected') return; // the next connect re-joins
    if (this.joined && (ack?.code === 'timeout' || ack?.code === 'unavailable')) {
      // A catch-up on the open connection (Redis still coming back): try again shortly.
      window.setTimeout(() => {
        if (this.room === room) this.#catchUp();
      }, JOIN_RETRY_MS);
      return;
    }
    if (ack?.code === 'room_not_found') {
      this.chrome.notify(`The room “${room}” does not exist any more.`);
      this.#exitRoom();
      return;
    }
    if (ack?.code === 'timeout') {
      window.setTimeout(() => {
        if (this.room === room && !this.joined && !this.#joining && this.socket.connected) this.#join(since);
      }, JOIN_RETRY_MS);
      return;
    }
    this.chrome.notify(joinError(ack, room));
  }

  /** @param {import('./types.js').RoomUsers} event */
  #onRoomUsers(event) {
    if (!isObject(event) || typeof event.room !== 'string') return;
    const count = Number(event.count);
    this.rooms.setMembers(event.room, count);
    if (event.room === this.room) this.chrome.setRoomCount(count);
  }

  /** Unread badges and member counts for the rooms shown (events only cover the current room). */
  async #pollStats() {
    if (!this.socket.connected) return;
    const ack = await ask(this.socket, 'room-stats', { rooms: this.rooms.shownNames() });
    if (!ack?.success || !Array.isArray(ack.rooms)) return;
    for (const stats of ack.rooms) {
      if (!isObject(stats) || typeof stats.name !== 'string') continue;
      const isCurrent = stats.name === this.room;
      this.rooms.setMembers(stats.name, Number(stats.members));
      if (isCurrent && this.joined) this.chrome.setRoomCount(Number(stats.members));
      const latestSeq = Number(stats.latestSeq);
      if (!Number.isFinite(latestSeq)) continue;
      const unread = this.unread.update(stats.name, latestSeq, isCurrent);
      this.rooms.setUnread(stats.name, isCurrent ? 0 : unread);
    }
  }

  // ---- messages -----------------------------------------------------------------------------

  /** @param {unknown} messages  newest first, for the room just joined */
  #onPreviousMessages(messages) {
    if (!Array.isArray(messages) || !this.room) return;
    const forRoom = messages.filter((message) => isObject(message) && message.roomId === this.room);
    this.#lastPage = forRoom;
    this.#confirmOwn(forRoom);
    this.messages.add(forRoom);
    this.unread.markRead(this.room, this.messages.lastSeq);
    this.older.update();
  }

  /** @param {Message} message */
  #onChatMessage(message) {
    if (!isObject(message) || message.roomId !== this.room) return;
    if (this.#otherEpoch(message.epoch)) {
      this.#catchUp(); // its seq may be one we hold from before Redis lost writes
      return;
    }
    const wasAtBottom = this.messages.isPinned;
    this.#confirmOwn([message]);
    if (this.messages.add([message]).length === 0) return;
    if (message.seq > this.messages.lastSeq) this.#watchGap(message.seq); // something below it is missing
    this.typingIndicator.remove(message.sender);
    this.unread.markRead(this.room, message.seq);
    if (!wasAtBottom) this.ui.jumpLatest.hidden = false;
    if (document.hidden) this.chrome.countUnseen(this.room);
  }

  /**
   * Our own messages seen in a broadcast or history are stored: stop re-sending them.
   * @param {unknown[]} messages  untrusted
   */
  #confirmOwn(messages) {
    for (const message of messages) {
      if (!isObject(message)) continue;
      const { clientId, sender } = message;
      if (typeof clientId === 'string' && clientId && sameUser(sender, this.me))
        this.outbox.confirm(clientId);
    }
  }

  /** @param {SubmitEvent} event */
  #send(event) {
    event.preventDefault();
    const text = this.ui.messageInput.value;
    if (!this.room || text === '') return;
    if (!hasVisibleText(text)) {
      this.chrome.notify('Nothing to send: the message holds only spaces or invisible characters.');
      return;
    }
    const entry = this.outbox.add(this.room, text);
    this.messages.addOutgoing(entry);
    this.outbox.send(entry.clientId);
    this.ui.messageInput.value = '';
    this.typingNotifier.stop();
    this.ui.messageInput.focus();
  }

  /**
   * @param {OutboxEntry} entry
   * @param {Message} message
   */
  #onOwnConfirmed(entry, message) {
    if (entry.room !== this.room) return;
    if (this.#otherEpoch(message.epoch)) {
      this.#catchUp(); // the catch-up brings it, and confirms it by its clientId
      return;
    }
    this.messages.confirm(message);
    this.unread.markRead(this.room, message.seq);
  }

  /**
   * @param {OutboxEntry} entry
   * @param {AnyFail | null} fail
   */
  #onDeliveryState(entry, fail) {
    if (entry.room !== this.room) return;
    this.messages.setDeliveryState(entry.clientId, entry.state, fail?.error ?? '');
    if (fail?.code === 'rate_limited' && entry.state === 'pending') {
      const s = Math.max(1, Math.ceil((fail.retryAfterMs ?? 1000) / 1000));
      this.chrome.notify(`Sending too fast: the waiting messages go out by themselves in ${s} s, in order.`);
      return;
    }
    if (entry.state !== 'failed' || !fail) return;
    this.chrome.notify(sendError(fail));
  }

  // ---- DOM events -------------------------------------------------------------------------

  #bindDom() {
    const { ui } = this;
    ui.messageForm.addEventListener('submit', (event) => this.#send(event));
    ui.messageInput.addEventListener('input', () => this.typingNotifier.onInput(ui.messageInput.value));
    ui.messageInput.addEventListener('paste', (event) => this.#onPaste(event));
    ui.logout.addEventListener('click', () => this.#logout());
    ui.jumpLatest.addEventListener('click', () => {
      this.messages.scrollToBottom();
      ui.jumpLatest.hidden = true;
      ui.messageInput.focus();
    });
    ui.chatBox.addEventListener('scroll', () => {
      if (this.messages.isNearBottom()) ui.jumpLatest.hidden = true;
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.chrome.clearUnseen(this.room);
    });
  }

  /**
   * The browser cuts a paste at the input's maxlength without a word: say so.
   * @param {ClipboardEvent} event
   */
  #onPaste(event) {
    const input = this.ui.messageInput;
    const pasted = event.clipboardData?.getData('text') ?? '';
    const max = input.maxLength;
    const selected = (input.selectionEnd ?? 0) - (input.selectionStart ?? 0);
    const room = max - (input.value.length - selected);
    if (max <= 0 || pasted.length <= room) return;
    this.chrome.notify(
      `The pasted text has ${pasted.length} characters; a message holds at most ${max}, so only the first ${Math.max(0, room)} were pasted.`,
    );
  }
}
