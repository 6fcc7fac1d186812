/** Sending from the composer and showing each own message's delivery state. */
import { sendError } from './error-text.js';
import { hasVisibleText, sameUser } from './format.js';
import { isObject } from './guards.js';

/** @typedef {import('./app.js').ChatApp} ChatApp */
/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').OutboxEntry} OutboxEntry */
/** @typedef {import('./types.js').Fail | import('./types.js').LocalFail} AnyFail */

/** Puts typed messages into the outbox and mirrors the outbox's confirmations and failures. */
export class Sender {
  /** @param {ChatApp} app */
  constructor(app) {
    this.app = app;
  }

  /** @param {SubmitEvent} event */
  send(event) {
    const { app } = this;
    event.preventDefault();
    const text = app.ui.messageInput.value;
    if (!app.room || text === '') return;
    if (!hasVisibleText(text)) {
      app.chrome.notify('Nothing to send: the message holds only spaces or invisible characters.');
      return;
    }
    const entry = app.outbox.add(app.room, text);
    app.messages.addOutgoing(entry);
    app.outbox.send(entry.clientId);
    app.ui.messageInput.value = '';
    app.typingNotifier.stop();
    app.ui.messageInput.focus();
  }

  /**
   * Our own messages seen in a broadcast or history are stored: stop re-sending them.
   * @param {unknown[]} messages  untrusted
   */
  confirmOwn(messages) {
    for (const message of messages) {
      if (!isObject(message)) continue;
      const { clientId, sender } = message;
      if (typeof clientId === 'string' && clientId && sameUser(sender, this.app.me))
        this.app.outbox.confirm(clientId);
    }
  }

  /**
   * @param {OutboxEntry} entry
   * @param {Message} message
   */
  onOwnConfirmed(entry, message) {
    const { app } = this;
    if (entry.room !== app.room) return;
    if (app.seq.otherEpoch(message.epoch)) {
      app.joiner.catchUp(); // the catch-up brings it, and confirms it by its clientId
      return;
    }
    app.messages.confirm(message);
    app.unread.markRead(app.room, message.seq);
    app.noteSeen(); // our own message is read: it must not count as unread on the server
  }

  /**
   * @param {OutboxEntry} entry
   * @param {AnyFail | null} fail
   */
  onDeliveryState(entry, fail) {
    const { app } = this;
    if (entry.room !== app.room) return;
    app.messages.setDeliveryState(entry.clientId, entry.state, fail?.error ?? '');
    if (fail?.code === 'rate_limited' && entry.state === 'pending') {
      const s = Math.max(1, Math.ceil((fail.retryAfterMs ?? 1000) / 1000));
      app.chrome.notify(`Sending too fast: the waiting messages go out by themselves in ${s} s, in order.`);
      return;
    }
    if (entry.state !== 'failed' || !fail) return;
    app.chrome.notify(sendError(fail));
  }
}
