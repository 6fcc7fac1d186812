import { el } from '../lib/dom.js';
import { actionError } from './error-text.js';
import { sameUser } from './format.js';
import { isDmName } from './rooms.js';

/** @typedef {import('./types.js').ChatRoom} ChatRoom */
/**
 * A membership request over the socket (`request` in socket-ask.js, bound to the app's socket).
 * @typedef {<E extends keyof import('./types.js').MemberEvents>(event: E,
 *   payload: import('./types.js').MemberEvents[E][0]) => Promise<import('./types.js').MemberAnswer<E>>} Requester
 */

/** Members asked for per page (`room-members` limit). */
const MEMBERS_PAGE = 50;

/**
 * The current room's header actions and members panel: Members (private rooms: the list, paged;
 * the owner invites by name and removes; an operator removes), Leave room (a member of a private
 * room), Delete room (its owner or an operator). The server decides every one; this only offers
 * what it would allow and explains a refusal.
 */
export class RoomAdmin {
  /** @type {string | null} */
  #room = null;
  /** @type {ChatRoom | undefined} */
  #record = undefined;
  /** @type {string | null} */
  #next = null;
  #loading = false;

  /**
   * @param {object} deps
   * @param {string} deps.me
   * @param {boolean} deps.admin  whether the reader is an operator
   * @param {{ toggle: HTMLButtonElement, leave: HTMLButtonElement, remove: HTMLButtonElement,
   *   panel: HTMLElement, list: HTMLElement, more: HTMLButtonElement, inviteForm: HTMLFormElement,
   *   inviteInput: HTMLInputElement, status: HTMLElement }} deps.ui
   * @param {Requester} deps.request
   * @param {(room: string, how: 'left' | 'deleted') => void} deps.onGone  we left or deleted it
   * @param {(text: string) => void} deps.notify
   * @param {(room: string) => string} deps.displayName
   */
  constructor({ me, admin, ui, request, onGone, notify, displayName }) {
    this.me = me;
    this.admin = admin;
    this.ui = ui;
    this.request = request;
    this.onGone = onGone;
    this.notify = notify;
    this.displayName = displayName;
    ui.toggle.addEventListener('click', () =>
      this.#setOpen(ui.toggle.getAttribute('aria-expanded') !== 'true'),
    );
    ui.more.addEventListener('click', () => this.#load(this.#next ?? undefined));
    ui.leave.addEventListener('click', () => this.#leave());
    ui.remove.addEventListener('click', () => this.#deleteRoom());
    ui.inviteForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#invite();
    });
    ui.list.addEventListener('click', (event) => {
      const button = event.target instanceof HTMLElement ? event.target.closest('[data-remove]') : null;
      if (button instanceof window.HTMLButtonElement) this.#removeMember(button.dataset.remove ?? '', button);
    });
  }

  /**
   * The view switched to `room` (null: none); `record` is what the sidebar knows of it.
   * @param {string | null} room
   * @param {ChatRoom | undefined} record
   */
  show(room, record) {
    const changed = room !== this.#room;
    this.#room = room;
    this.#record = record;
    const { ui } = this;
    const isPrivate = record?.visibility === 'private';
    const owner = this.#isOwner();
    ui.toggle.hidden = !isPrivate;
    ui.leave.hidden = !isPrivate || owner;
    ui.remove.hidden = room === null || !(this.admin || (owner && !isDmName(room)));
    ui.inviteForm.hidden = !(isPrivate && owner);
    if (changed || !isPrivate) this.#setOpen(false);
  }

  #isOwner() {
    return Boolean(this.#record?.createdBy) && sameUser(this.#record?.createdBy, this.me);
  }

  /** @param {boolean} open */
  #setOpen(open) {
    const { ui } = this;
    ui.panel.hidden = !open;
    ui.toggle.setAttribute('aria-expanded', String(open));
    ui.status.textContent = '';
    if (!open) {
      ui.list.replaceChildren();
      ui.more.hidden = true;
      return;
    }
    this.#load(undefined);
  }

  /** @param {string | undefined} cursor */
  async #load(cursor) {
    const room = this.#room;
    if (!room || this.#loading) return;
    this.#loading = true;
    const ack = await this.request('room-members', {
      room,
      limit: MEMBERS_PAGE,
      ...(cursor ? { cursor } : {}),
    });
    this.#loading = false;
    if (room !== this.#room || this.ui.panel.hidden) return;
    if (!ack.success) {
      this.ui.status.textContent = actionError(ack, 'load the members');
      return;
    }
    if (!cursor) this.ui.list.replaceChildren();
    for (const member of ack.members) this.#addMember(member);
    this.#next = ack.next;
    this.ui.more.hidden = ack.next === null;
  }

  /** @param {string} member */
  #addMember(member) {
    if (typeof member !== 'string' || this.#memberItem(member)) return;
    const item = el('li', { attrs: { 'data-member': member.toLowerCase() } });
    item.append(el('span', { className: 'member-name', text: member }));
    const isOwner = sameUser(member, this.#record?.createdBy);
    if (isOwner) item.append(el('span', { className: 'you-tag', text: '(owner)' }));
    if ((this.#isOwner() || this.admin) && !isOwner && !sameUser(member, this.me)) {
      item.append(
        el('button', {
          className: 'user-action',
          text: 'Remove',
          attrs: { type: 'button', 'data-remove': member, 'aria-label': `Remove ${member} from the room` },
        }),
      );
    }
    this.ui.list.append(item);
  }

  /** @param {string} member */
  #memberItem(member) {
    return [...this.ui.list.children].find(
      (li) => li instanceof HTMLElement && li.dataset.member === member.toLowerCase(),
    );
  }

  async #invite() {
    const room = this.#room;
    const user = this.ui.inviteInput.value.trim();
    if (!room) return;
    if (!user) {
      this.ui.status.textContent = 'Please enter a username to invite.';
      this.ui.inviteInput.focus();
      return;
    }
    const ack = await this.request('invite', { room, user });
    if (room !== this.#room) return;
    if (!ack.success) {
      this.ui.status.textContent =
        ack.code === 'not_found' ? `There is no user called “${user}”.` : actionError(ack, `invite ${user}`);
      this.ui.inviteInput.focus();
      return;
    }
    this.ui.inviteInput.value = '';
    this.#addMember(ack.user);
    this.ui.status.textContent = `${ack.user} was invited.`;
  }

  /**
   * @param {string} member
   * @param {HTMLButtonElement} button
   */
  async #removeMember(member, button) {
    const room = this.#room;
    if (!room || !member) return;
    button.disabled = true;
    const ack = await this.request('remove-member', { room, user: member });
    button.disabled = false;
    if (room !== this.#room) return;
    if (!ack.success) {
      this.ui.status.textContent = actionError(ack, `remove ${member}`);
      return;
    }
    const item = this.#memberItem(member);
    const next = item?.nextElementSibling?.querySelector('button') ?? this.ui.inviteInput;
    item?.remove();
    this.ui.status.textContent = `${member} was removed from the room.`;
    if (next instanceof HTMLElement && !next.closest('[hidden]')) next.focus();
    else this.ui.toggle.focus();
  }

  async #leave() {
    const room = this.#room;
    if (!room) return;
    const shown = this.displayName(room);
    if (!window.confirm(`Leave “${shown}”? You need a new invitation to come back.`)) return;
    const ack = await this.request('remove-member', { room, user: this.me });
    if (!ack.success) {
      this.notify(actionError(ack, `leave “${shown}”`));
      return;
    }
    this.onGone(room, 'left');
  }

  async #deleteRoom() {
    const room = this.#room;
    if (!room) return;
    const shown = this.displayName(room);
    if (!window.confirm(`Delete “${shown}” for everyone? Its messages are removed for good.`)) return;
    const ack = await this.request('delete-room', { room });
    if (!ack.success) {
      this.notify(actionError(ack, `delete “${shown}”`));
      return;
    }
    this.onGone(room, 'deleted');
  }
}
