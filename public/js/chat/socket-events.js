/** The socket's event handlers: connection state and the server's pushes for the chat page. */
import { isObject } from './guards.js';
import { listen } from './socket-ask.js';

/** @typedef {import('./app.js').ChatApp} ChatApp */
/** @typedef {import('./types.js').Message} Message */

/**
 * Subscribes the app to its socket's events.
 * @param {ChatApp} app
 */
export function bindSocket(app) {
  const { socket } = app;
  socket.on('connect', () => onConnect(app));
  socket.on('disconnect', (reason) => onDisconnect(app, reason));
  socket.on('connect_error', (error) => onConnectError(app, error));
  socket.on('rooms-home', (home) => {
    app.rooms.home(home);
    app.joiner.refreshRoomInfo(); // a restored room's record (owner, visibility, DM peer) is known now
    app.messages.refreshActions();
  });
  // Rooms that appear while we are online are new to us: all their messages count as unread.
  socket.on('room-created', (room) => {
    if (app.rooms.created(room)) app.unread.seedNew(room.name);
  });
  socket.on('previous-messages', (messages) => app.joiner.onPreviousMessages(messages));
  socket.on('chat-message', (message) => onChatMessage(app, message));
  socket.on('onlineUsers', (count) => app.presence.setCount(Number(count)));
  socket.on('room-users', (event) => onRoomUsers(app, event));
  socket.on('room-seq', (notice) => app.seq.onRoomSeq(notice));
  socket.on('typing', (event) => {
    if (isObject(event) && event.room === app.room) app.typingIndicator.update(event);
  });
  bindMembership(app);
}

/**
 * Pushes of private conversations: membership, edits and deletions, read markers, suspension.
 * @param {ChatApp} app
 */
function bindMembership(app) {
  const { socket } = app;
  listen(socket, 'room-added', (room) => {
    if (!isObject(room) || typeof room.name !== 'string' || typeof room.createdBy !== 'string') return;
    const record = /** @type {import('./types.js').ChatRoom} */ (room);
    if (app.rooms.added(record)) app.refreshUnread([record.name]);
    if (record.name === app.room) app.joiner.refreshRoomInfo();
  });
  listen(socket, 'room-removed', (event) => {
    if (isObject(event) && typeof event.room === 'string') app.roomGone(event.room, 'removed');
  });
  listen(socket, 'room-deleted', (event) => {
    if (isObject(event) && typeof event.room === 'string') app.roomGone(event.room, 'deleted');
  });
  listen(socket, 'message-updated', (message) => {
    if (!isObject(message) || message.roomId !== app.room) return;
    app.messages.update(/** @type {import('./types.js').ChatMessage} */ (message));
  });
  listen(socket, 'message-deleted', (event) => {
    if (!isObject(event) || event.room !== app.room || !Number.isInteger(event.seq)) return;
    app.messages.markDeleted(Number(event.seq));
  });
  // Read in another tab or on another device: that room's badges are counted from there.
  listen(socket, 'read-marker', (event) => {
    if (isObject(event) && typeof event.room === 'string') app.refreshUnread([event.room]);
  });
  listen(socket, 'suspended', () => app.suspended());
}

/** @param {ChatApp} app */
function onConnect(app) {
  app.reconnector.reset();
  app.readMarker.reset();
  app.banner.connected();
  if (!app.room) app.joiner.restoreRoom();
  // After a reconnect only what was missed is asked for; the server dedupes by seq anyway.
  if (app.room) app.joiner.join(app.joiner.historyLoaded ? app.messages.lastSeq : undefined);
  app.pollStats();
  app.presence.requestRefresh();
}

/**
 * @param {ChatApp} app
 * @param {string} reason  Socket.IO's disconnect reason
 */
function onDisconnect(app, reason) {
  app.joined = false;
  app.joiner.joining = false;
  app.typingNotifier.reset();
  app.typingIndicator.clear();
  if (app.leaving) return;
  if (reason === 'io server disconnect') {
    // Logged out (here or in another tab): the session is gone, a reconnect would be refused.
    app.leave();
    return;
  }
  app.banner.reconnecting();
}

/**
 * @param {ChatApp} app
 * @param {Error} error
 */
function onConnectError(app, error) {
  if (error?.message === 'unauthorized') {
    app.leave();
    return;
  }
  if (error?.message === 'forbidden_origin') {
    app.banner.error('This address is not allowed to connect to the chat server.');
    return;
  }
  app.banner.reconnecting();
  // A refusal by the server's middleware stops Socket.IO's own retries; keep trying with backoff.
  if (!app.socket.active) app.reconnector.schedule();
}

/**
 * @param {ChatApp} app
 * @param {import('./types.js').RoomUsers} event
 */
function onRoomUsers(app, event) {
  if (!isObject(event) || typeof event.room !== 'string') return;
  const count = Number(event.count);
  app.rooms.setMembers(event.room, count);
  if (event.room === app.room) app.chrome.setRoomCount(count);
}

/**
 * @param {ChatApp} app
 * @param {Message} message
 */
function onChatMessage(app, message) {
  if (!isObject(message) || message.roomId !== app.room) return;
  if (app.seq.otherEpoch(message.epoch)) {
    app.joiner.catchUp(); // its seq may be one we hold from before Redis lost writes
    return;
  }
  const wasAtBottom = app.messages.isPinned;
  app.sender.confirmOwn([message]);
  if (app.messages.add([message]).length === 0) return;
  if (message.seq > app.messages.lastSeq) app.seq.watchGap(message.seq); // something below it is missing
  app.typingIndicator.remove(message.sender);
  app.unread.markRead(app.room, message.seq);
  if (!wasAtBottom) app.ui.jumpLatest.hidden = false;
  if (document.hidden) app.chrome.countUnseen(app.rooms.displayName(message.roomId));
  app.noteSeen();
}
