import { el } from '../lib/dom.js';
import {
  closeEditor,
  createMessageElement,
  createOutgoingElement,
  differs,
  NO_ACTIONS,
  showDeliveryState,
} from './message-view.js';
import { sameUser } from './format.js';

/** @typedef {import('./types.js').ChatMessage} Message */
/** @typedef {import('./message-view.js').MessagePermissions} MessagePermissions */
/** @typedef {import('./types.js').OutboxEntry} OutboxEntry */

const GROUP_WINDOW_MS = 5 * 60 * 1000;
const STICKY_BOTTOM_PX = 80;

/**
 * The permissions as a short key ("ed", "d", ""), to see when buttons need re-drawing.
 * @param {MessagePermissions} may
 */
function mayKey(may) {
  return `${may.edit ? 'e' : ''}${may.delete ? 'd' : ''}`;
}

/**
 * Ascending by seq without mutating the input (previous-messages and history come newest first).
 * @param {Message[]} messages
 */
function bySeqAscending(messages) {
  return [...messages].sort((a, b) => a.seq - b.seq);
}

/**
 * Whether a payload looks like a stored message; anything else is ignored rather than rendered.
 * @param {unknown} value
 * @returns {value is Message}
 */
function isMessage(value) {
  if (typeof value !== 'object' || value === null) return false;
  const m = /** @type {{ seq?: unknown, text?: unknown, sender?: unknown }} */ (value);
  return Number.isInteger(m.seq) && typeof m.text === 'string' && typeof m.sender === 'string';
}

/**
 * The message log of the current room. Confirmed messages are kept sorted by seq; our unconfirmed
 * ones (pending/failed) sit after them at the bottom until the server gives them a seq. Every seq
 * and every own clientId is shown at most once.
 */
export class MessageList {
  /** @type {Map<number, HTMLElement>} */
  #bySeq = new Map();
  /** @type {Map<string, HTMLElement>} */
  #byClientId = new Map();
  /** Known complete up to here: every seq from the join (or the first shown) to it is shown. */
  #complete = 0;
  #minSeq = Infinity;
  /** Whether the reader was at the newest message when last seen scrolling. */
  #pinned = true;
  /** The final state of every confirmed message shown, by seq (to re-render its buttons). */
  /** @type {Map<number, Message>} */
  #messages = new Map();
  /** @type {HTMLElement | null} */
  #divider = null;

  /**
   * @param {HTMLElement} box        #chat-box
   * @param {object} options
   * @param {string} options.me
   * @param {(clientId: string) => void} options.onRetry
   * @param {() => void} options.onChange  called after any change (empty state, jump button)
   * @param {(message: Message) => MessagePermissions} [options.permissions]  the reader's buttons
   * @param {(action: string, seq: number, node: HTMLElement) => void} [options.onAction]
   *   a click on a message's Edit, Delete or Cancel button
   */
  constructor(box, { me, onRetry, onChange, permissions = () => NO_ACTIONS, onAction = () => {} }) {
    this.box = box;
    this.me = me;
    this.onChange = onChange;
    this.permissions = permissions;
    box.addEventListener('scroll', () => (this.#pinned = this.isNearBottom()), { passive: true });
    // Layout changes (Load older appearing, a notice, the mobile keyboard) shrink the log; a reader
    // who was at the newest message stays there.
    new window.ResizeObserver(() => this.#pinned && this.scrollToBottom()).observe(box);
    box.addEventListener('click', (event) => {
      const button = event.target instanceof HTMLElement ? event.target.closest('.retry-button') : null;
      const container = button?.closest('.message-container');
      const clientId = container instanceof HTMLElement ? container.dataset.clientId : undefined;
      if (clientId) onRetry(clientId);
      const action = event.target instanceof HTMLElement ? event.target.closest('[data-action]') : null;
      const node = action?.closest('.message-container');
      if (action instanceof HTMLElement && node instanceof HTMLElement && node.dataset.seq) {
        onAction(action.dataset.action ?? '', Number(node.dataset.seq), node);
      }
    });
  }

  /**
   * Highest seq with nothing missing below it: the `since` of a re-join. Not simply the highest
   * shown: messages from senders on different instances can overtake each other, and asking to
   * continue after an overtaking one would skip the one still on its way.
   */
  get lastSeq() {
    let seq = Math.max(this.#complete, this.#minSeq === Infinity ? 0 : this.#minSeq);
    if (!this.#bySeq.has(seq) && seq !== this.#complete) return this.#complete;
    while (this.#bySeq.has(seq + 1)) seq++;
    this.#complete = seq;
    return seq;
  }

  /**
   * After a successful join: the history the server sent reaches `latestSeq`.
   * @param {number} latestSeq
   */
  markJoined(latestSeq) {
    this.#complete = Math.max(this.#complete, latestSeq);
  }

  /** Lowest seq shown; the `before` of "Load older" (Infinity when nothing is shown). */
  get minSeq() {
    return this.#minSeq;
  }

  get isEmpty() {
    return this.box.childElementCount === 0;
  }

  /** Empties the log (room switch). */
  clear() {
    this.box.replaceChildren();
    this.#bySeq.clear();
    this.#messages.clear();
    this.#divider = null;
    this.#byClientId.clear();
    this.#complete = 0;
    this.#minSeq = Infinity;
    this.#pinned = true;
    this.onChange();
  }

  /** Whether new messages should scroll into view (the reader is at the newest ones). */
  get isPinned() {
    return this.#pinned;
  }

  isNearBottom() {
    const { scrollHeight, scrollTop, clientHeight } = this.box;
    return scrollHeight - scrollTop - clientHeight < STICKY_BOTTOM_PX;
  }

  scrollToBottom() {
    this.box.scrollTop = this.box.scrollHeight;
    this.#pinned = true;
  }

  /**
   * Adds server messages in any order, skipping ones already shown; keeps the view pinned to the
   * bottom if it was there. Returns the messages that were new.
   * @param {unknown[]} messages  untrusted: anything not shaped like a Message is skipped
   * @returns {Message[]}
   */
  add(messages) {
    const stick = this.#pinned;
    const added = bySeqAscending(messages.filter(isMessage)).filter((message) => this.#addOne(message));
    if (stick && added.length > 0) this.scrollToBottom();
    if (added.length > 0) this.onChange();
    return added;
  }

  /**
   * Inserts older history above what is shown while keeping the visible messages where they are.
   * @param {unknown[]} messages  untrusted, as in add()
   */
  prepend(messages) {
    const { scrollHeight, scrollTop } = this.box;
    const added = bySeqAscending(messages.filter(isMessage)).filter((message) => this.#addOne(message));
    this.box.scrollTop = scrollTop + (this.box.scrollHeight - scrollHeight);
    if (added.length > 0) this.onChange();
    return added;
  }

  /**
   * Shows one of our messages as not yet confirmed, at the bottom.
   * @param {OutboxEntry} entry
   */
  addOutgoing(entry) {
    if (this.#byClientId.has(entry.clientId)) return;
    const node = createOutgoingElement(entry, this.me);
    this.#byClientId.set(entry.clientId, node);
    this.box.append(node);
    this.#regroup(node);
    this.scrollToBottom();
    this.onChange();
  }

  /**
   * Reflects an outbox state change on its element, if that element is shown.
   * @param {string} clientId
   * @param {OutboxEntry['state']} state
   * @param {string} [reason]
   */
  setDeliveryState(clientId, state, reason = '') {
    const node = this.#byClientId.get(clientId);
    if (node && !node.dataset.seq) showDeliveryState(node, state, reason);
  }

  /**
   * Confirms one of our messages with the stored version and moves it to its seq position.
   * @param {Message} message
   */
  confirm(message) {
    const node = message.clientId ? this.#byClientId.get(message.clientId) : undefined;
    if (!node || node.dataset.seq) return;
    if (this.#bySeq.has(message.seq)) {
      // Already shown through another path (e.g. history after a reconnect): drop the duplicate.
      this.#remove(node);
      if (message.clientId) this.#byClientId.delete(message.clientId);
      return;
    }
    const stick = this.#pinned;
    this.#remove(node);
    const confirmed = this.#render(message);
    if (message.clientId) this.#byClientId.set(message.clientId, confirmed);
    this.#place(confirmed, message.seq);
    if (stick) this.scrollToBottom();
    this.onChange();
  }

  /**
   * Shows the final state of a message already shown (`message-updated`, an edit or delete ack, a
   * catch-up page): replaced by seq in its place. Returns whether it was shown.
   * @param {Message} message
   */
  update(message) {
    const node = this.#bySeq.get(message.seq);
    if (!node || !isMessage(message)) return false;
    this.#replace(node, message);
    return true;
  }

  /**
   * `message-deleted`: the message becomes a tombstone in its place (sender, time and seq kept).
   * @param {number} seq
   */
  markDeleted(seq) {
    const shown = this.#messages.get(seq);
    if (!shown || shown.deleted) return;
    this.update({ ...shown, text: '', deleted: true });
  }

  /**
   * The shown state of a message (for an edit form, or a tombstone).
   * @param {number} seq
   */
  get(seq) {
    return this.#messages.get(seq);
  }

  /** Re-draws the buttons of every message whose permissions changed (owner known, window over). */
  refreshActions() {
    for (const [seq, message] of this.#messages) {
      const node = this.#bySeq.get(seq);
      if (
        node &&
        !node.classList.contains('editing') &&
        node.dataset.may !== mayKey(this.permissions(message))
      )
        this.#replace(node, message);
    }
  }

  /**
   * The "New messages" divider above the first message after `readSeq` (the reader's read
   * position when the room was opened); none when nothing shown is after it.
   * @param {number} readSeq
   * @returns {HTMLElement | null}
   */
  showDivider(readSeq) {
    this.#divider?.remove();
    this.#divider = null;
    const first = [...this.#bySeq.entries()].filter(([seq]) => seq > readSeq).sort((a, b) => a[0] - b[0])[0];
    if (!first) return null;
    const divider = el('div', {
      className: 'new-divider',
      attrs: { role: 'separator', 'aria-label': 'New messages' },
    });
    divider.append(el('span', { text: 'New messages', attrs: { 'aria-hidden': 'true' } }));
    first[1].before(divider);
    this.#regroup(first[1]);
    this.#divider = divider;
    return divider;
  }

  /**
   * @param {HTMLElement} node
   * @param {Message} message
   */
  #replace(node, message) {
    const hadFocus = node.contains(document.activeElement);
    const fresh = this.#render(message);
    fresh.classList.toggle('grouped', node.classList.contains('grouped'));
    closeEditor(node);
    node.replaceWith(fresh);
    this.#bySeq.set(message.seq, fresh);
    if (message.clientId && this.#byClientId.get(message.clientId) === node) {
      this.#byClientId.set(message.clientId, fresh);
    }
    if (hadFocus) {
      const button = fresh.querySelector('.message-action');
      (button instanceof HTMLElement ? button : this.box).focus();
    }
    this.onChange();
  }

  /**
   * @param {Message} message
   * @returns {HTMLElement}
   */
  #render(message) {
    const may = this.permissions(message);
    const node = createMessageElement(message, this.me, may);
    node.dataset.may = mayKey(may);
    this.#messages.set(message.seq, message);
    return node;
  }

  /** @param {Message} message */
  #addOne(message) {
    const shown = this.#bySeq.get(message.seq);
    if (shown) {
      // A catch-up or history page brings the final state of a message we show: replace by seq.
      if (differs(shown, message)) this.#replace(shown, message);
      return false;
    }
    if (message.clientId && sameUser(message.sender, this.me)) {
      const own = this.#byClientId.get(message.clientId);
      if (own) {
        this.confirm(message);
        return false;
      }
    }
    const node = this.#render(message);
    if (message.clientId && sameUser(message.sender, this.me)) this.#byClientId.set(message.clientId, node);
    this.#place(node, message.seq);
    return true;
  }

  /**
   * Inserts a confirmed element after the last one with a smaller seq (usually: at the end).
   * @param {HTMLElement} node
   * @param {number} seq
   */
  #place(node, seq) {
    let anchor = this.box.lastElementChild;
    while (anchor instanceof HTMLElement && (!anchor.dataset.seq || Number(anchor.dataset.seq) > seq)) {
      anchor = anchor.previousElementSibling;
    }
    if (anchor) anchor.after(node);
    else this.box.prepend(node);
    this.#bySeq.set(seq, node);
    this.#minSeq = Math.min(this.#minSeq, seq);
    this.#regroup(node);
    if (node.nextElementSibling instanceof HTMLElement) this.#regroup(node.nextElementSibling);
  }

  /**
   * Detaches an element and fixes the grouping of the one that followed it.
   * @param {HTMLElement} node
   */
  #remove(node) {
    const next = node.nextElementSibling;
    node.remove();
    if (next instanceof HTMLElement) this.#regroup(next);
  }

  /**
   * Hides the sender name when the previous message is by the same sender within 5 minutes.
   * @param {HTMLElement} node
   */
  #regroup(node) {
    const previous = node.previousElementSibling;
    const grouped =
      previous instanceof HTMLElement &&
      sameUser(previous.dataset.sender, node.dataset.sender) &&
      Math.abs(Number(node.dataset.ts) - Number(previous.dataset.ts)) <= GROUP_WINDOW_MS;
    node.classList.toggle('grouped', grouped);
  }
}
