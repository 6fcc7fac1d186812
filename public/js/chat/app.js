import { byId } from '../lib/dom.js';
import { ConnectionBanner } from './banner.js';
import { connectSocket, Reconnector } from './connection.js';
import { DirectMessages } from './dm.js';
import { bindDom } from './dom-events.js';
import { isObject } from './guards.js';
import { MessageActions, messagePermissions } from './message-actions.js';
import { MessageList } from './message-list.js';
import { Moderation } from './moderation.js';
import { OlderHistory } from './older-history.js';
import { Outbox } from './outbox.js';
import { PageChrome } from './page-chrome.js';
import { Presence } from './presence.js';
import { RoomAdmin } from './room-admin.js';
import { RoomForm } from './room-form.js';
import { RoomJoiner } from './room-join.js';
import { RoomsSidebar } from './rooms.js';
import { Sender } from './sending.js';
import { SeqWatch } from './seq-watch.js';
import { bindSocket } from './socket-events.js';
import { ask, request } from './socket-ask.js';
import { TypingIndicator, TypingNotifier } from './typing.js';
import { ReadMarker, UnreadTracker } from './unread.js';

/** @typedef {import('./types.js').ChatRoom} ChatRoom */
/** @typedef {import('./types.js').UnreadEntry} UnreadEntry */

const AUTH_URL = '/auth.html';
/** Where a suspended account lands: the sign-in page says why. */
const SUSPENDED_URL = '/auth.html?reason=suspended';
const STATS_INTERVAL_MS = 5000;
/** Own messages lose their Edit/Delete buttons within this long after the edit window ends. */
const ACTIONS_REFRESH_MS = 30_000;

/** Leaves for the sign-in page; `replace` so Back does not return to a signed-out chat. */
export function goToSignIn() {
  window.location.replace(AUTH_URL);
}

/**
 * The signed-in chat page: builds the page's parts and holds the state they share. Socket events
 * are in socket-events.js, joins and catch-ups in room-join.js, seq gaps and epochs in seq-watch.js,
 * sending in sending.js, DOM listeners in dom-events.js.
 */
export class ChatApp {
  /**
   * Room being shown (or about to be), null before the first pick.
   * @type {string | null}
   */
  room = null;
  /** Whether the server confirmed the join of `room` on the current connection. */
  joined = false;
  /** Set once the page is leaving for good (signed out or session gone). */
  leaving = false;

  /**
   * @param {string} me  the signed-in username, from GET /auth/me
   * @param {{ admin?: boolean, editWindowMs?: number }} [role]  from GET /auth/me: an operator?
   *   how long (ms) own messages may be edited
   */
  constructor(me, role = {}) {
    this.me = me;
    this.admin = role.admin === true;
    this.editWindowMs = role.editWindowMs ?? 0;
    this.joiner = new RoomJoiner(this);
    this.seq = new SeqWatch(this);
    this.sender = new Sender(this);
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
    this.reconnector = new Reconnector(this.socket, () => this.leaving);
    this.banner = new ConnectionBanner(byId('connection-banner'));
    /** @type {import('./room-admin.js').Requester} */
    this.request = (event, payload) => request(this.socket, event, payload);
    const who = { me, admin: this.admin, editWindowMs: this.editWindowMs };
    this.messages = new MessageList(this.ui.chatBox, {
      me,
      onRetry: (clientId) => this.outbox.send(clientId),
      onChange: () => this.chrome.renderEmptyState(this.messages.isEmpty, this.room !== null),
      permissions: (message) =>
        messagePermissions(who, this.room ? this.rooms.find(this.room) : undefined, message),
      onAction: (action, seq, node) => this.messageActions.onAction(action, seq, node),
    });
    this.messageActions = new MessageActions({
      messages: this.messages,
      currentRoom: () => (this.joined ? this.room : null),
      request: this.request,
      notify: (text) => this.chrome.notify(text),
    });
    this.outbox = new Outbox({
      emitMessage: (payload) => ask(this.socket, 'message', payload),
      canSend: (room) => this.socket.connected && this.joined && room === this.room,
      onConfirmed: (entry, message) => this.sender.onOwnConfirmed(entry, message),
      onStateChange: (entry, fail) => this.sender.onDeliveryState(entry, fail),
    });
    this.older = new OlderHistory({
      button: byId('load-older'),
      focusFallback: this.ui.chatBox,
      messages: this.messages,
      currentRoom: () => this.room,
      onOlder: (older) => {
        const valid = older.filter(isObject);
        this.sender.confirmOwn(valid);
        this.messages.prepend(valid);
      },
      onUnauthorized: () => this.leave(),
      notify: (text) => this.chrome.notify(text),
    });
    this.rooms = new RoomsSidebar({
      me,
      dmList: byId('dm-list'),
      dmEmpty: byId('dm-empty'),
      mineList: byId('room-list'),
      directoryList: byId('directory-list'),
      search: byId('room-search', window.HTMLInputElement),
      more: byId('directory-more', window.HTMLButtonElement),
      status: byId('directory-status'),
      listRooms: (query) => ask(this.socket, 'list-rooms', query),
      onSelect: (name) => this.joiner.selectRoom(name),
    });
    this.roomForm = new RoomForm({
      form: byId('create-room-form', window.HTMLFormElement),
      input: byId('room-input', window.HTMLInputElement),
      button: byId('create-room', window.HTMLButtonElement),
      error: byId('room-error'),
      privateBox: byId('room-private', window.HTMLInputElement),
      create: (payload) => this.request('create-room', payload),
      onCreated: (room) => this.openRoom(room),
    });
    this.dm = new DirectMessages({
      me,
      form: byId('dm-form', window.HTMLFormElement),
      input: byId('dm-input', window.HTMLInputElement),
      button: byId('dm-start', window.HTMLButtonElement),
      error: byId('dm-error'),
      openDm: (user) => this.request('open-dm', { user }),
      onOpened: (room) => this.openRoom(room),
    });
    this.roomAdmin = new RoomAdmin({
      me,
      admin: this.admin,
      ui: {
        toggle: byId('members-toggle', window.HTMLButtonElement),
        leave: byId('leave-room', window.HTMLButtonElement),
        remove: byId('delete-room', window.HTMLButtonElement),
        panel: byId('members-panel'),
        list: byId('members-list'),
        more: byId('members-more', window.HTMLButtonElement),
        inviteForm: byId('invite-form', window.HTMLFormElement),
        inviteInput: byId('invite-input', window.HTMLInputElement),
        status: byId('members-status'),
      },
      request: this.request,
      onGone: (room, how) => this.roomGone(room, how),
      notify: (text) => this.chrome.notify(text),
      displayName: (room) => this.rooms.displayName(room),
    });
    this.moderation = new Moderation({
      admin: this.admin,
      section: byId('moderation-section'),
      form: byId('suspend-form', window.HTMLFormElement),
      input: byId('suspend-input', window.HTMLInputElement),
      restore: byId('restore-submit', window.HTMLButtonElement),
      status: byId('moderation-status'),
      request: this.request,
    });
    this.unread = new UnreadTracker();
    this.readMarker = new ReadMarker(
      (room, seq) => {
        this.unread.noteSent(room, seq);
        return this.request('mark-read', { room, seq });
      },
      () => {}, // the badge of the room being read shows 0 already; other tabs get `read-marker`
    );
    this.presence = new Presence({
      countEl: byId('online-count'),
      listEl: byId('online-users-list'),
      me,
      fetchUsers: () => ask(this.socket, 'who'),
      admin: this.admin,
      onAction: (action, user, button) => {
        if (action === 'message') this.dm.open(user, button);
        else this.moderation.set(user, true);
      },
    });
    this.typingIndicator = new TypingIndicator(byId('typing-indicator'), me);
    this.typingNotifier = new TypingNotifier((typing) => {
      if (this.socket.connected && this.joined) this.socket.emit('typing', typing);
    });
  }

  start() {
    this.ui.userName.textContent = this.me;
    this.banner.connecting();
    bindSocket(this);
    bindDom(this);
    window.setInterval(() => this.pollStats(), STATS_INTERVAL_MS);
    window.setInterval(() => this.messages.refreshActions(), ACTIONS_REFRESH_MS);
  }

  /**
   * A room we just became a member of by our own action (created, or a DM opened): listed, opened.
   * @param {ChatRoom} room
   */
  openRoom(room) {
    this.rooms.added(room);
    this.joiner.selectRoom(room.name);
  }

  /**
   * The room is gone for us: we were removed or left, or it was deleted. Out of the sidebar; if it
   * is open, the view leaves it and says why.
   * @param {string} room
   * @param {'removed' | 'left' | 'deleted'} how
   */
  roomGone(room, how) {
    const shown = this.rooms.displayName(room);
    this.rooms.removeRoom(room);
    if (room !== this.room) return;
    this.joiner.exitRoom();
    this.chrome.notify(
      how === 'removed'
        ? `You were removed from “${shown}”.`
        : how === 'left'
          ? `You left “${shown}”.`
          : `“${shown}” was deleted.`,
    );
  }

  /** The account was suspended by an operator: the sign-in page explains it. */
  suspended() {
    this.leaving = true;
    this.socket.disconnect();
    window.location.replace(SUSPENDED_URL);
  }

  /**
   * The current room's newest messages are on screen (joined, tab visible, log at the bottom):
   * its read marker moves there (throttled).
   */
  noteSeen() {
    if (!this.room || !this.joined || document.hidden || !this.messages.isNearBottom()) return;
    this.readMarker.seen(this.room, this.messages.lastSeq);
  }

  /**
   * Asks the server for read markers, unread counts and mentions (our rooms, or `rooms`) and
   * shows them as badges.
   * @param {string[]} [rooms]
   * @returns {Promise<UnreadEntry[]>}
   */
  async refreshUnread(rooms) {
    const ack = await this.request('unread', rooms ? { rooms } : {});
    if (!ack.success || !Array.isArray(ack.rooms)) return [];
    for (const entry of ack.rooms) {
      if (!isObject(entry) || typeof entry.room !== 'string') continue;
      this.unread.applyServer(entry);
      this.#showBadges(entry.room);
    }
    return ack.rooms;
  }

  /** @param {string} room */
  #showBadges(room) {
    const isCurrent = room === this.room;
    this.rooms.setUnread(room, isCurrent ? 0 : this.unread.unread(room));
    this.rooms.setMentions(room, isCurrent ? 0 : this.unread.mentions(room));
  }

  /**
   * A user's pick of a room (click, or after creating it).
   * @param {string} rawName
   */
  selectRoom(rawName) {
    this.joiner.selectRoom(rawName);
  }

  /** Ends the chat for good (signed out or session gone). */
  leave() {
    this.leaving = true;
    this.socket.disconnect();
    goToSignIn();
  }

  /** Unread badges and member counts for the rooms shown (events only cover the current room). */
  async pollStats() {
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
      this.unread.update(stats.name, latestSeq, isCurrent);
      this.#showBadges(stats.name);
    }
    this.refreshUnread();
  }
}
