import { actionError } from './error-text.js';
import { hasVisibleText, sameUser } from './format.js';
import { closeEditor, NO_ACTIONS, openEditor } from './message-view.js';

/** @typedef {import('./types.js').ChatMessage} ChatMessage */
/** @typedef {import('./types.js').ChatRoom} ChatRoom */
/** @typedef {import('./message-view.js').MessagePermissions} MessagePermissions */
/** @typedef {import('./room-admin.js').Requester} Requester */

/**
 * Which buttons a message gets: its sender edits and deletes it within the edit window; the room's
 * owner (not of a DM) and an operator delete any message. The same rules as the server's, which
 * decides anyway (a refusal is explained, e.g. `edit_window_passed`).
 * @param {object} who
 * @param {string} who.me
 * @param {boolean} who.admin
 * @param {number} who.editWindowMs  0: own messages cannot be changed
 * @param {ChatRoom | undefined} room  the room's record, when known
 * @param {ChatMessage} message
 * @param {number} [now]  epoch ms
 * @returns {MessagePermissions}
 */
export function messagePermissions({ me, admin, editWindowMs }, room, message, now = Date.now()) {
  if (message.deleted) return NO_ACTIONS;
  const own = sameUser(message.sender, me);
  const fresh = own && now - Date.parse(message.timestamp) < editWindowMs;
  const roomOwner = room !== undefined && room.visibility !== 'dm' && sameUser(room.createdBy, me);
  return { edit: fresh, delete: fresh || roomOwner || admin };
}

/**
 * Edit and Delete on the message log: an inline edit form (Enter saves, Escape cancels, focus comes
 * back to the message's Edit button) and a confirmed delete. The acks carry the message's final
 * state, shown at once; `message-updated` / `message-deleted` bring it to everyone else.
 */
export class MessageActions {
  /**
   * @param {object} deps
   * @param {import('./message-list.js').MessageList} deps.messages
   * @param {() => string | null} deps.currentRoom
   * @param {Requester} deps.request
   * @param {(text: string) => void} deps.notify
   */
  constructor({ messages, currentRoom, request, notify }) {
    this.messages = messages;
    this.currentRoom = currentRoom;
    this.request = request;
    this.notify = notify;
  }

  /**
   * A click on a message's button (from MessageList's onAction).
   * @param {string} action  edit | delete | cancel-edit
   * @param {number} seq
   * @param {HTMLElement} node
   */
  onAction(action, seq, node) {
    if (action === 'edit') this.#startEdit(seq, node);
    else if (action === 'cancel-edit') this.#cancel(node);
    else if (action === 'delete') this.#delete(seq);
  }

  /**
   * @param {number} seq
   * @param {HTMLElement} node
   */
  #startEdit(seq, node) {
    const input = openEditor(node);
    const form = input?.form;
    if (!input || !form) return;
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        this.#cancel(node);
      }
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#save(seq, node, input);
    });
  }

  /** @param {HTMLElement} node */
  #cancel(node) {
    closeEditor(node);
    const edit = node.querySelector('.edit-button');
    if (edit instanceof HTMLElement) edit.focus();
  }

  /**
   * @param {number} seq
   * @param {HTMLElement} node
   * @param {HTMLInputElement} input
   */
  async #save(seq, node, input) {
    const room = this.currentRoom();
    const text = input.value;
    if (!room) return;
    if (text === this.messages.get(seq)?.text) {
      this.#cancel(node);
      return;
    }
    if (!hasVisibleText(text)) {
      this.notify('A message needs some visible text; to remove it, use Delete.');
      input.focus();
      return;
    }
    input.disabled = true;
    const ack = await this.request('edit-message', { room, seq, text });
    input.disabled = false;
    if (room !== this.currentRoom()) return;
    if (!ack.success) {
      this.notify(actionError(ack, 'edit the message'));
      if (input.isConnected) input.focus();
      return;
    }
    this.messages.update(ack.message);
  }

  /** @param {number} seq */
  async #delete(seq) {
    const room = this.currentRoom();
    if (!room || !window.confirm('Delete this message for everyone?')) return;
    const ack = await this.request('delete-message', { room, seq });
    if (room !== this.currentRoom()) return;
    if (!ack.success) {
      this.notify(actionError(ack, 'delete the message'));
      return;
    }
    this.messages.update(ack.message);
  }
}
