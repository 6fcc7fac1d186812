import { byId } from '../lib/dom.js';
import { ConnectionBanner } from './banner.js';
import { connectSocket, Reconnector } from './connection.js';
import { bindDom } from './dom-events.js';
import { isObject } from './guards.js';
import { MessageList } from './message-list.js';
import { OlderHistory } from './older-history.js';
import { Outbox } from './outbox.js';
import { PageChrome } from './page-chrome.js';
import { Presence } from './presence.js';
import { RoomForm } from './room-form.js';
import { RoomJoiner } from './room-join.js';
import { RoomsSidebar } from './rooms.js';
import { Sender } from './sending.js';
import { SeqWatch } from './seq-watch.js';
import { bindSocket } from './socket-events.js';
import { ask } from './socket-ask.js';
import { TypingIndicator, TypingNotifier } from './typing.js';
import { UnreadTracker } from './unread.js';

const AUTH_URL = '/auth.html';
const STATS_INTERVAL_MS = 5000;

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

  /** @param {string} me  the signed-in username, from GET /auth/me */
  constructor(me) {
    this.me = me;
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
    this.messages = new MessageList(this.ui.chatBox, {
      me,
      onRetry: (clientId) => this.outbox.send(clientId),
      onChange: () => this.chrome.renderEmptyState(this.messages.isEmpty, this.room !== null),
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
      create: (name) => ask(this.socket, 'create-room', name),
      onCreated: (name) => this.joiner.selectRoom(name),
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
    bindSocket(this);
    bindDom(this);
    window.setInterval(() => this.pollStats(), STATS_INTERVAL_MS);
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
      const unread = this.unread.update(stats.name, latestSeq, isCurrent);
      this.rooms.setUnread(stats.name, isCurrent ? 0 : unread);
    }
  }
}
