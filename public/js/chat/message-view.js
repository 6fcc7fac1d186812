import { el } from '../lib/dom.js';
import { formatClock, formatFull, linkify, mentions, sameUser, toDate } from './format.js';

/** @typedef {import('./types.js').Message} Message */
/** @typedef {import('./types.js').ChatMessage} ChatMessage */
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
 * What the reader may do to a shown message (decided on the server; this only picks the buttons).
 * @typedef {{ edit: boolean, delete: boolean }} MessagePermissions
 */

/** @type {MessagePermissions} */
export const NO_ACTIONS = Object.freeze({ edit: false, delete: false });

/**
 * A stored message from the server: its final state (an edited text with "(edited)", a deletion
 * as a tombstone in its place) and the Edit/Delete buttons the reader may use.
 * @param {ChatMessage} message
 * @param {string} me  the reader's username
 * @param {MessagePermissions} [may]
 */
export function createMessageElement(message, me, may = NO_ACTIONS) {
  const own = sameUser(message.sender, me);
  const deleted = message.deleted === true;
  const node = skeleton({
    sender: message.sender,
    text: deleted ? '' : message.text,
    date: toDate(message.timestamp),
    own,
  });
  node.dataset.seq = String(message.seq);
  node.dataset.id = message.id;
  if (own) {
    if (message.clientId) node.dataset.clientId = message.clientId;
    node.classList.add('sent-ok');
  } else if (!deleted && mentions(message.text, me)) {
    node.classList.add('mention');
  }
  const meta = node.querySelector('.message-meta');
  if (deleted) {
    node.classList.add('deleted');
    node.dataset.deleted = 'true';
    node.querySelector('.message-bubble')?.replaceChildren(el('em', { text: 'message deleted' }));
    return node;
  }
  if (message.editedAt) {
    node.dataset.editedAt = message.editedAt;
    const edited = toDate(message.editedAt);
    meta?.append(
      el('span', {
        className: 'edited-mark',
        text: '(edited)',
        attrs: { title: `Edited ${formatFull(edited)}` },
      }),
    );
  }
  if (may.edit || may.delete) {
    const actions = el('span', { className: 'message-actions' });
    if (may.edit) actions.append(actionButton('edit', 'Edit', 'Edit this message'));
    if (may.delete) actions.append(actionButton('delete', 'Delete', 'Delete this message'));
    meta?.append(actions);
  }
  return node;
}

/**
 * @param {'edit' | 'delete'} action
 * @param {string} text
 * @param {string} label
 */
function actionButton(action, text, label) {
  return el('button', {
    className: `message-action ${action}-button`,
    text,
    attrs: { type: 'button', 'data-action': action, 'aria-label': label },
  });
}

/**
 * Whether `message` shows something else than `node` does (an edit or deletion not shown yet).
 * @param {HTMLElement} node
 * @param {ChatMessage} message
 */
export function differs(node, message) {
  if (message.deleted === true) return node.dataset.deleted !== 'true';
  return Boolean(message.editedAt) && node.dataset.editedAt !== message.editedAt;
}

/**
 * Turns a message's bubble into an inline edit form (Enter saves, Escape cancels).
 * @param {HTMLElement} node
 * @returns {HTMLInputElement | null} the text field, focused
 */
export function openEditor(node) {
  const bubble = node.querySelector('.message-bubble');
  if (!(bubble instanceof HTMLElement) || node.querySelector('.edit-form')) return null;
  const id = `edit-${node.dataset.seq}`;
  const form = el('form', { className: 'edit-form', attrs: { novalidate: '' } });
  const label = el('label', { className: 'visually-hidden', text: 'Edit message', attrs: { for: id } });
  const input = /** @type {HTMLInputElement} */ (
    el('input', {
      className: 'edit-input',
      attrs: { id, type: 'text', maxlength: '2000', autocomplete: 'off' },
    })
  );
  input.value = bubble.textContent ?? '';
  const save = el('button', {
    className: 'button-primary edit-save',
    text: 'Save',
    attrs: { type: 'submit' },
  });
  const cancel = el('button', {
    className: 'button-secondary edit-cancel',
    text: 'Cancel',
    attrs: { type: 'button', 'data-action': 'cancel-edit' },
  });
  form.append(label, input, save, cancel);
  bubble.hidden = true;
  bubble.after(form);
  node.classList.add('editing');
  input.focus();
  return input;
}

/**
 * Closes the edit form of `node`, if open, and shows the bubble again.
 * @param {HTMLElement} node
 */
export function closeEditor(node) {
  node.querySelector('.edit-form')?.remove();
  const bubble = node.querySelector('.message-bubble');
  if (bubble instanceof HTMLElement) bubble.hidden = false;
  node.classList.remove('editing');
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
