import { el } from '../lib/dom.js';
import { sameUser } from './format.js';

const WHO_MIN_INTERVAL_MS = 2000;

/** The server's first `who` page holds at most this many names (WHO_PAGE_MAX in src/protocol.ts). */
const WHO_LIMIT = 500;

/**
 * The header's online count and the sidebar's cluster-wide user list. `onlineUsers` can fire on
 * every connect/disconnect anywhere in the cluster, so the `who` refresh it triggers is throttled
 * to one request per 2 s, with a trailing refresh so the last change is never missed.
 * The count and the list change together: a new count is shown with the list it belongs to
 * (the list's length, unless the list is cut at WHO_LIMIT), so they never disagree on screen.
 */
export class Presence {
  #lastRefresh = 0;
  #timer = 0;
  #inFlight = false;
  /** The latest `onlineUsers` count, shown only beside a list too long to show in full. */
  #count = NaN;

  /**
   * @param {object} deps
   * @param {HTMLElement} deps.countEl  #online-count
   * @param {HTMLElement} deps.listEl   #online-users-list
   * @param {string} deps.me
   * @param {() => Promise<any>} deps.fetchUsers  resolves to the `who` ack
   * @param {boolean} [deps.admin]  operators get a Suspend button beside each person
   * @param {(action: 'message' | 'suspend', user: string, button: HTMLButtonElement) => void} [deps.onAction]
   */
  constructor({ countEl, listEl, me, fetchUsers, admin = false, onAction = () => {} }) {
    this.countEl = countEl;
    this.listEl = listEl;
    this.me = me;
    this.fetchUsers = fetchUsers;
    this.admin = admin;
    listEl.addEventListener('click', (event) => {
      const button = event.target instanceof HTMLElement ? event.target.closest('[data-user-action]') : null;
      if (!(button instanceof window.HTMLButtonElement)) return;
      const action = button.dataset.userAction;
      const user = button.dataset.user;
      if ((action === 'message' || action === 'suspend') && user) onAction(action, user, button);
    });
  }

  /** @param {number} count */
  setCount(count) {
    if (!Number.isFinite(count)) return;
    this.#count = count;
    if (count === Number(this.listEl.dataset.count)) this.#showCount(count);
    else this.requestRefresh();
  }

  /** @param {number} count */
  #showCount(count) {
    this.countEl.textContent = `Online: ${count}`;
    this.countEl.dataset.count = String(count);
  }

  /** Refreshes the list now if allowed, otherwise once the 2 s window has passed. */
  requestRefresh() {
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastRefresh + WHO_MIN_INTERVAL_MS - Date.now());
    this.#timer = window.setTimeout(() => {
      this.#timer = 0;
      this.#refresh();
    }, wait);
  }

  async #refresh() {
    if (this.#inFlight) {
      this.requestRefresh();
      return;
    }
    this.#inFlight = true;
    this.#lastRefresh = Date.now();
    try {
      const ack = await this.fetchUsers();
      if (ack?.success && Array.isArray(ack.users)) this.#render(ack.users);
    } finally {
      this.#inFlight = false;
    }
  }

  /** @param {string[]} users */
  #render(users) {
    const items = users
      .filter((user) => typeof user === 'string')
      .map((user) => {
        const item = el('li');
        item.append(el('span', { className: 'user-name', text: user }));
        if (sameUser(user, this.me)) {
          item.classList.add('is-me');
          item.append(el('span', { className: 'you-tag', text: ' (you)' }));
          return item;
        }
        item.append(userButton('message', user, 'Message', `Send a direct message to ${user}`));
        if (this.admin) item.append(userButton('suspend', user, 'Suspend', `Suspend ${user}`));
        return item;
      });
    // A refresh must not drop the keyboard focus of someone on a person's button.
    const focused = document.activeElement;
    const keep =
      focused instanceof HTMLElement && this.listEl.contains(focused)
        ? `[data-user-action="${focused.dataset.userAction}"][data-user="${window.CSS.escape(focused.dataset.user ?? '')}"]`
        : null;
    this.listEl.replaceChildren(...items);
    const again = keep ? this.listEl.querySelector(keep) : null;
    if (again instanceof HTMLElement) again.focus();
    this.listEl.dataset.count = String(items.length);
    const cut = items.length >= WHO_LIMIT && this.#count > items.length;
    this.#showCount(cut ? this.#count : items.length);
  }
}

/**
 * @param {'message' | 'suspend'} action
 * @param {string} user
 * @param {string} text
 * @param {string} label
 */
function userButton(action, user, text, label) {
  return el('button', {
    className: 'user-action',
    text,
    attrs: { type: 'button', 'data-user-action': action, 'data-user': user, 'aria-label': label },
  });
}
