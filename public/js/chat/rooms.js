import { el } from '../lib/dom.js';

/** @typedef {import('./types.js').Room} Room */

/**
 * @typedef {object} RoomItem
 * @property {HTMLLIElement} item
 * @property {HTMLButtonElement} button
 * @property {HTMLElement} members
 * @property {HTMLElement} badge
 * @property {number | null} memberCount
 * @property {number} unread
 */

/** The sidebar's room list: one button per room with its member count and unread badge. */
export class RoomList {
  /** @type {Map<string, RoomItem>} */
  #items = new Map();
  /** @type {string | null} */
  #active = null;

  /**
   * @param {HTMLElement} list  #room-list
   * @param {(room: string) => void} onSelect
   */
  constructor(list, onSelect) {
    this.list = list;
    list.addEventListener('click', (event) => {
      const button = event.target instanceof HTMLElement ? event.target.closest('[data-room]') : null;
      const room = button instanceof HTMLElement ? button.dataset.room : undefined;
      if (room !== undefined) onSelect(room);
    });
  }

  /** @param {string} name */
  has(name) {
    return this.#items.has(name);
  }

  /**
   * Replaces the list with `rooms` (oldest first), keeping counts and badges of known rooms.
   * @param {Room[]} rooms
   * @returns {string[]} names that were not listed before
   */
  render(rooms) {
    /** @type {string[]} */
    const added = [];
    /** @type {Map<string, RoomItem>} */
    const next = new Map();
    for (const room of rooms) {
      if (typeof room?.name !== 'string') continue;
      let item = this.#items.get(room.name);
      if (!item) {
        item = createItem(room);
        added.push(room.name);
      }
      item.button.title = room.createdBy ? `Created by ${room.createdBy}` : '';
      next.set(room.name, item);
    }
    this.#items = next;
    this.list.replaceChildren(...[...next.values()].map((item) => item.item));
    this.setActive(this.#active);
    return added;
  }

  /**
   * Marks the current room (aria-current) so it is styled and announced as such.
   * @param {string | null} name
   */
  setActive(name) {
    this.#active = name;
    for (const [roomName, item] of this.#items) {
      if (roomName === name) item.button.setAttribute('aria-current', 'true');
      else item.button.removeAttribute('aria-current');
    }
  }

  /**
   * @param {string} name
   * @param {number} count
   */
  setMembers(name, count) {
    const item = this.#items.get(name);
    if (!item || !Number.isFinite(count)) return;
    item.memberCount = count;
    item.members.textContent = String(count);
    item.members.hidden = false;
    updateLabel(name, item);
  }

  /**
   * @param {string} name
   * @param {number} count
   */
  setUnread(name, count) {
    const item = this.#items.get(name);
    if (!item) return;
    item.unread = Math.max(0, count);
    item.badge.textContent = item.unread > 99 ? '99+' : String(item.unread);
    item.badge.hidden = item.unread === 0;
    updateLabel(name, item);
  }
}

/** @param {Room} room */
function createItem(room) {
  const item = /** @type {HTMLLIElement} */ (el('li'));
  const button = /** @type {HTMLButtonElement} */ (
    el('button', { className: 'room-button', attrs: { type: 'button', 'data-room': room.name } })
  );
  const members = el('span', { className: 'room-members', attrs: { 'aria-hidden': 'true' } });
  members.hidden = true;
  const badge = el('span', { className: 'unread-badge', text: '0', attrs: { 'aria-hidden': 'true' } });
  badge.hidden = true;
  button.append(el('span', { className: 'room-name', text: room.name }), members, badge);
  item.append(button);
  /** @type {RoomItem} */
  const roomItem = { item, button, members, badge, memberCount: null, unread: 0 };
  updateLabel(room.name, roomItem);
  return roomItem;
}

/**
 * One spoken label instead of three loose numbers: "general, 3 members, 2 unread".
 * @param {string} name
 * @param {RoomItem} item
 */
function updateLabel(name, item) {
  const parts = [name];
  if (item.memberCount !== null) {
    const members = `${item.memberCount} member${item.memberCount === 1 ? '' : 's'}`;
    parts.push(members);
    item.members.title = members;
  }
  if (item.unread > 0) parts.push(`${item.unread} unread`);
  item.button.setAttribute('aria-label', parts.join(', '));
}
