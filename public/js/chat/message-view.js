import { el } from '../lib/dom.js';
import { formatClock, formatFull, linkify, mentions, sameUser, toDate } from './format.js';

/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').OutboxEntry} OutboxEntry */

/**
 * <time> showing HH:MM with the full local date/time as a tooltip.
 * @param {Date} date
 */
function timeElement(date) {
  return el('time', {
    className: 'message-time',
    text: formatClock(date),
    attrs: { datetime: date.toISOString(), title: formatFull(date) },
  });
}

/**
 * The common skeleton: sender line, bubble, meta line (time + delivery state).
 * @param {{ sender: string, text: string, date: Date, own: boolean }} parts
 */
function skeleton({ sender, text, date, own }) {
  const container = el('div', { className: `message-container ${own ? 'sent' : 'received'}` });
  container.dataset.sender = sender;
  container.dataset.ts = String(date.getTime());

  const info = el('div', { className: 'message-info' });
  info.append(el('span', { className: 'sender-name', text: sender }));
  const bubble = el('div', { className: 'message-bubble' });
  bubble.append(...linkify(text));
  const meta = el('div', { className: 'message-meta' });
  meta.append(timeElement(date));

  container.append(info, bubble, meta);
  return container;
}

/**
 * A stored message from the server.
 * @param {Message} message
 * @param {string} me  the reader's username
 */
export function createMessageElement(message, me) {
  const own = sameUser(message.sender, me);
  const node = skeleton({ sender: message.sender, text: message.text, date: toDate(message.timestamp), own });
  node.dataset.seq = String(message.seq);
  if (own) {
    if (message.clientId) node.dataset.clientId = message.clientId;
    node.classList.add('sent-ok');
  } else if (mentions(message.text, me)) {
    node.classList.add('mention');
  }
  return node;
}

/**
 * One of our own messages that the server has not confirmed yet.
 * @param {OutboxEntry} entry
 * @param {string} me
 */
export function createOutgoingElement(entry, me) {
  const node = skeleton({ sender: me, text: entry.text, date: new Date(entry.createdAt), own: true });
  node.dataset.clientId = entry.clientId;
  const meta = node.querySelector('.message-meta');
  const retry = el('button', { className: 'retry-button', text: 'Retry', attrs: { type: 'button' } });
  retry.hidden = true;
  meta?.append(el('span', { className: 'message-status' }), retry);
  showDeliveryState(node, entry.state);
  return node;
}

/**
 * Switches an outgoing element between "sending…" and "not sent + Retry".
 * @param {HTMLElement} node
 * @param {'pending' | 'failed'} state
 * @param {string} [reason]  why it failed, shown as a tooltip
 */
export function showDeliveryState(node, state, reason = '') {
  const failed = state === 'failed';
  node.classList.toggle('pending', !failed);
  node.classList.toggle('failed', failed);
  const status = node.querySelector('.message-status');
  if (status instanceof HTMLElement) {
    status.textContent = failed ? 'Not sent' : 'sending…';
    if (reason) status.title = reason;
    else status.removeAttribute('title');
  }
  const retry = node.querySelector('.retry-button');
  if (retry instanceof HTMLElement) retry.hidden = !failed;
}

/**
 * Turns an outgoing element into a confirmed one, taking the server's seq and time.
 * @param {HTMLElement} node
 * @param {Message} message
 */
export function confirmOutgoing(node, message) {
  const date = toDate(message.timestamp);
  node.classList.remove('pending', 'failed');
  node.classList.add('sent-ok');
  node.dataset.seq = String(message.seq);
  node.dataset.ts = String(date.getTime());
  node.querySelector('.message-status')?.remove();
  node.querySelector('.retry-button')?.remove();
  node.querySelector('.message-time')?.replaceWith(timeElement(date));
}
