import { el } from '../lib/dom.js';
import { sameUser } from './format.js';

/** @typedef {import('./types.js').ChatRoom} Room */
/** @typedef {import('./types.js').RoomPage} RoomPage */
/** @typedef {import('./types.js').RoomsHome} RoomsHome */
/** @typedef {import('./types.js').Answer<'list-rooms'>} ListAnswer */

/** Typing in the search box asks the server once the typing pauses this long. */
const SEARCH_DELAY_MS = 250;
/** `room-stats` counts at most this many rooms (ROOM_STATS_MAX in src/protocol.ts). */
const STATS_MAX = 100;

/**
 * @typedef {object} RoomItem
 * @property {Room} room
 * @property {HTMLLIElement} item
 * @property {HTMLButtonElement} button
 * @property {HTMLElement} members
 * @property {HTMLElement} badge
 * @property {HTMLElement} mentionBadge
 * @property {string} label  the name shown (a DM: the other person's name)
 * @property {number | null} memberCount
 * @property {number} unread
 * @property {number} mentions
 */

/**
 * Whether a room is a direct message between two people (its name starts with `@`).
 * @param {string} name
 */
export function isDmName(name) {
  return name.startsWith('@');
}

/**
 * The other person of a DM: from its `members`, else from its name `@a+b` (lower-cased there).
 * @param {Room | undefined} room
 * @param {string} name
 * @param {string} me
 */
export function dmPeer(room, name, me) {
  const members = Array.isArray(room?.members) ? room.members : name.slice(1).split('+');
  return members.find((member) => !sameUser(member, me)) ?? members[0] ?? name;
}

/** A list of room buttons with member counts and unread badges (one per list in the sidebar). */
export class RoomList {
  /** @type {Map<string, RoomItem>} */
  #items = new Map();
  /** @type {string | null} */
  #active = null;

  /**
   * @param {HTMLElement} list  a ul
   * @param {(room: string) => void} onSelect
   * @param {(room: Room) => string} label  the name to show for a room
   */
  constructor(list, onSelect, label) {
    this.list = list;
    this.label = label;
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

  /** @param {string} name */
  get(name) {
    return this.#items.get(name)?.room;
  }

  /** Names in display order. */
  names() {
    return [...this.#items.keys()];
  }

  /**
   * Replaces the list with `rooms` (in that order), keeping counts and badges of known rooms.
   * @param {Room[]} rooms
   */
  render(rooms) {
    /** @type {Map<string, RoomItem>} */
    const next = new Map();
    for (const room of rooms) {
      if (typeof room?.name !== 'string' || next.has(room.name)) continue;
      const known = this.#items.get(room.name);
      // A stub (a room joined before its record arrived) gives way to the record.
      const same =
        known && known.room.createdBy === room.createdBy && known.room.visibility === room.visibility;
      next.set(room.name, same ? known : createItem(room, this.label(room)));
    }
    this.#items = next;
    this.list.replaceChildren(...[...next.values()].map((item) => item.item));
    this.setActive(this.#active);
  }

  /**
   * Adds rooms after the ones shown (a further page); rooms already shown are skipped.
   * @param {Room[]} rooms
   */
  append(rooms) {
    for (const room of rooms) {
      if (typeof room?.name !== 'string' || this.#items.has(room.name)) continue;
      const item = createItem(room, this.label(room));
      this.#items.set(room.name, item);
      this.list.append(item.item);
    }
    this.setActive(this.#active);
  }

  /**
   * Adds one room at the top, or where it sorts by name (ordering of the directory, approximately).
   * @param {Room} room
   * @param {'top' | 'sorted'} where
   * @returns {boolean} whether it was new here
   */
  insert(room, where) {
    if (typeof room?.name !== 'string' || this.#items.has(room.name)) return false;
    const item = createItem(room, this.label(room));
    const key = sortKey(room.name);
    const before =
      where === 'top'
        ? this.#items.values().next().value
        : [...this.#items.values()].find((other) => sortKey(other.room.name) > key);
    this.list.insertBefore(item.item, before?.item ?? null);
    this.#items.set(room.name, item);
    this.setActive(this.#active);
    return true;
  }

  /** @param {string} name */
  remove(name) {
    const item = this.#items.get(name);
    if (!item) return;
    item.item.remove();
    this.#items.delete(name);
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
    item.members.hidden = isDmName(name);
    updateLabel(item);
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
    updateLabel(item);
  }

  /**
   * The separate badge for mentions of the reader (`@name`) among the unread messages.
   * @param {string} name
   * @param {number} count
   */
  setMentions(name, count) {
    const item = this.#items.get(name);
    if (!item || !Number.isFinite(count)) return;
    item.mentions = Math.max(0, count);
    item.mentionBadge.textContent = `@${item.mentions > 99 ? '99+' : item.mentions}`;
    item.mentionBadge.hidden = item.mentions === 0;
    updateLabel(item);
  }
}

/**
 * The sidebar's rooms: "Direct messages" (shown by the other person's name) and "Your rooms"
 * (joined, created or invited to, newest first, from `rooms-home` and `room-added`) above the
 * directory (every other public room, a page at a time, searchable by name). None is ever the
 * whole room list: the directory grows by "Load more" and by `room-created`.
 */
export class RoomsSidebar {
  /** Search text the directory shows ('' = everything). */
  #q = '';
  /** Cursor of the directory's next page; null when everything matching is shown. */
  /** @type {string | null} */
  #next = null;
  /** Bumped by every new directory query: answers to older ones are dropped. */
  #token = 0;
  #timer = 0;

  /**
   * @param {object} deps
   * @param {string} deps.me                  the signed-in username
   * @param {HTMLElement} deps.dmList         #dm-list
   * @param {HTMLElement} deps.dmEmpty        #dm-empty
   * @param {HTMLElement} deps.mineList       #room-list
   * @param {HTMLElement} deps.directoryList  #directory-list
   * @param {HTMLInputElement} deps.search    #room-search
   * @param {HTMLButtonElement} deps.more     #directory-more
   * @param {HTMLElement} deps.status         #directory-status
   * @param {(query: { q?: string, cursor?: string }) => Promise<ListAnswer>} deps.listRooms
   * @param {(room: string) => void} deps.onSelect
   */
  constructor({ me, dmList, dmEmpty, mineList, directoryList, search, more, status, listRooms, onSelect }) {
    this.me = me;
    /** @param {Room} room */
    const byName = (room) => room.name;
    this.dms = new RoomList(dmList, onSelect, (room) => dmPeer(room, room.name, me));
    this.dmEmpty = dmEmpty;
    this.mine = new RoomList(mineList, onSelect, byName);
    this.directory = new RoomList(directoryList, onSelect, byName);
    this.search = search;
    this.more = more;
    this.status = status;
    this.listRooms = listRooms;
    search.addEventListener('input', () => {
      window.clearTimeout(this.#timer);
      this.#timer = window.setTimeout(() => this.#query(search.value.trim(), undefined), SEARCH_DELAY_MS);
    });
    more.addEventListener('click', () => {
      if (this.#next !== null) this.#query(this.#q, this.#next);
    });
  }

  /**
   * The connect push: own rooms and the directory's first page (a search in progress is re-run).
   * @param {RoomsHome} home
   */
  home(home) {
    if (!home || !Array.isArray(home.mine) || !home.directory) return;
    /** @type {Room[]} */
    const mine = home.mine;
    this.dms.render(mine.filter((room) => isDm(room)));
    this.mine.render(mine.filter((room) => !isDm(room)));
    this.#updateDmEmpty();
    if (this.#q !== '') {
      this.#query(this.#q, undefined);
      return;
    }
    this.#token++;
    this.#showPage(home.directory, false);
  }

  /**
   * A room created anywhere: shown in the directory when it matches the search.
   * @param {Room} room
   * @returns {boolean} whether it is new to this page
   */
  created(room) {
    if (typeof room?.name !== 'string' || this.mine.has(room.name) || this.dms.has(room.name)) return false;
    if (room.visibility === 'private' || isDm(room)) return false; // never in the directory
    if (this.#q !== '' && !sortKey(room.name).startsWith(sortKey(this.#q))) return false;
    const added = this.directory.insert(room, 'sorted');
    this.#updateStatus();
    return added;
  }

  /**
   * Joined (or created): the room moves to the top of "Your rooms".
   * @param {string} name
   */
  joined(name) {
    const room = this.find(name) ?? { name, createdBy: '', createdAt: '' };
    this.added(room);
  }

  /**
   * A room we are a member of now (joined, created, invited to, a DM opened by either side):
   * at the top of "Direct messages" or "Your rooms", out of the directory.
   * @param {Room} room
   * @returns {boolean} whether it was new among ours
   */
  added(room) {
    if (typeof room?.name !== 'string') return false;
    const list = isDm(room) ? this.dms : this.mine;
    if (list.names()[0] === room.name && (list.get(room.name)?.createdBy || !room.createdBy)) return false;
    const known = list.get(room.name) ?? this.directory.get(room.name);
    const isNew = !list.has(room.name);
    list.remove(room.name);
    this.directory.remove(room.name);
    // The fuller record wins: a stub from a join by name has no owner or visibility.
    list.insert(room.createdBy || !known ? room : known, 'top');
    this.#updateDmEmpty();
    this.#updateStatus();
    return isNew;
  }

  /**
   * A room gone for us (removed from it, or deleted): out of every list.
   * @param {string} name
   */
  removeRoom(name) {
    this.dms.remove(name);
    this.mine.remove(name);
    this.directory.remove(name);
    this.#updateDmEmpty();
    this.#updateStatus();
  }

  /**
   * The record of a room shown anywhere in the sidebar.
   * @param {string} name
   * @returns {Room | undefined}
   */
  find(name) {
    return this.dms.get(name) ?? this.mine.get(name) ?? this.directory.get(name);
  }

  /**
   * How the page names a room: a DM by the other person's name.
   * @param {string} name
   */
  displayName(name) {
    return isDmName(name) ? dmPeer(this.find(name), name, this.me) : name;
  }

  /** Names of our own rooms and DMs (the ones with read markers). */
  ownNames() {
    return [...this.dms.names(), ...this.mine.names()];
  }

  /** Rooms shown, for `room-stats` (at most its limit, own rooms first). */
  shownNames() {
    return [...this.ownNames(), ...this.directory.names()].slice(0, STATS_MAX);
  }

  /** @param {string | null} name */
  setActive(name) {
    this.dms.setActive(name);
    this.mine.setActive(name);
    this.directory.setActive(name);
  }

  /**
   * @param {string} name
   * @param {number} count
   */
  setMembers(name, count) {
    this.dms.setMembers(name, count);
    this.mine.setMembers(name, count);
    this.directory.setMembers(name, count);
  }

  /**
   * @param {string} name
   * @param {number} count
   */
  setUnread(name, count) {
    this.dms.setUnread(name, count);
    this.mine.setUnread(name, count);
    this.directory.setUnread(name, count);
  }

  /**
   * @param {string} name
   * @param {number} count
   */
  setMentions(name, count) {
    this.dms.setMentions(name, count);
    this.mine.setMentions(name, count);
    this.directory.setMentions(name, count);
  }

  #updateDmEmpty() {
    this.dmEmpty.hidden = this.dms.names().length > 0;
  }

  /**
   * Asks for a directory page: a new search (`cursor` undefined) or the next page of this one.
   * @param {string} q
   * @param {string | undefined} cursor
   */
  async #query(q, cursor) {
    const token = ++this.#token;
    this.#q = q;
    this.more.disabled = true;
    const answer = await this.listRooms({ ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) });
    if (token !== this.#token) return;
    this.more.disabled = false;
    if (!answer.success) {
      this.status.textContent = 'Could not load rooms; try again.';
      this.more.hidden = cursor === undefined;
      return;
    }
    this.#showPage(answer, cursor !== undefined);
  }

  /**
   * @param {RoomPage} page
   * @param {boolean} append
   */
  #showPage(page, append) {
    const rooms = (Array.isArray(page.rooms) ? page.rooms : []).filter(
      (r) => !this.mine.has(r?.name) && !this.dms.has(r?.name),
    );
    if (append) this.directory.append(rooms);
    else this.directory.render(rooms);
    this.#next = typeof page.next === 'string' ? page.next : null;
    this.more.hidden = this.#next === null;
    this.#updateStatus();
  }

  #updateStatus() {
    const empty = this.directory.names().length === 0 && this.#next === null;
    this.status.textContent = !empty
      ? ''
      : this.#q
        ? `No other rooms match “${this.#q}”.`
        : 'No other rooms yet.';
  }
}

/** @param {Room} room */
function isDm(room) {
  return room.visibility === 'dm' || (typeof room.name === 'string' && isDmName(room.name));
}

/** @param {string} name */
function sortKey(name) {
  return name.normalize('NFKC').toLowerCase();
}

/**
 * @param {Room} room
 * @param {string} label
 */
function createItem(room, label) {
  const item = /** @type {HTMLLIElement} */ (el('li'));
  const button = /** @type {HTMLButtonElement} */ (
    el('button', { className: 'room-button', attrs: { type: 'button', 'data-room': room.name } })
  );
  button.title =
    room.visibility === 'dm'
      ? `Direct messages with ${label}`
      : room.createdBy
        ? `Created by ${room.createdBy}`
        : '';
  const members = el('span', { className: 'room-members', attrs: { 'aria-hidden': 'true' } });
  members.hidden = true;
  const badge = el('span', { className: 'unread-badge', text: '0', attrs: { 'aria-hidden': 'true' } });
  badge.hidden = true;
  const mentionBadge = el('span', {
    className: 'mention-badge',
    text: '@0',
    attrs: { 'aria-hidden': 'true' },
  });
  mentionBadge.hidden = true;
  button.append(el('span', { className: 'room-name', text: label }));
  if (room.visibility === 'private') {
    button.append(
      el('span', { className: 'private-tag', text: 'private', attrs: { 'aria-hidden': 'true' } }),
    );
  }
  button.append(members, mentionBadge, badge);
  item.append(button);
  /** @type {RoomItem} */
  const roomItem = {
    room,
    item,
    button,
    members,
    badge,
    mentionBadge,
    label,
    memberCount: null,
    unread: 0,
    mentions: 0,
  };
  updateLabel(roomItem);
  return roomItem;
}

/**
 * One spoken label instead of loose numbers: "general, private, 3 members, 2 unread, 1 mention".
 * @param {RoomItem} item
 */
function updateLabel(item) {
  const parts = [item.label];
  if (item.room.visibility === 'private') parts.push('private');
  if (item.memberCount !== null && !item.members.hidden) {
    const members = `${item.memberCount} member${item.memberCount === 1 ? '' : 's'}`;
    parts.push(members);
    item.members.title = members;
  }
  if (item.unread > 0) parts.push(`${item.unread} unread`);
  if (item.mentions > 0) parts.push(`${item.mentions} mention${item.mentions === 1 ? '' : 's'}`);
  item.button.setAttribute('aria-label', parts.join(', '));
}
