import { actionError } from './error-text.js';

/** @typedef {import('./room-admin.js').Requester} Requester */

/**
 * Operator tools (shown only to operators; the server checks every request): suspend a person,
 * from the online list or by name, and lift a suspension. A suspension ends every session of that
 * person on every instance at once.
 */
export class Moderation {
  /**
   * @param {object} deps
   * @param {boolean} deps.admin
   * @param {HTMLElement} deps.section        #moderation-section
   * @param {HTMLFormElement} deps.form       #suspend-form
   * @param {HTMLInputElement} deps.input     #suspend-input
   * @param {HTMLButtonElement} deps.restore  #restore-submit
   * @param {HTMLElement} deps.status         #moderation-status
   * @param {Requester} deps.request
   */
  constructor({ admin, section, form, input, restore, status, request }) {
    this.input = input;
    this.status = status;
    this.request = request;
    section.hidden = !admin;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#fromForm(true);
    });
    restore.addEventListener('click', () => this.#fromForm(false));
  }

  /** @param {boolean} suspended */
  #fromForm(suspended) {
    const user = this.input.value.trim();
    if (!user) {
      this.status.textContent = 'Please enter a username.';
      this.input.focus();
      return;
    }
    this.set(user, suspended);
  }

  /**
   * Suspends (after a confirmation) or restores `user`; the outcome goes to the status line.
   * @param {string} user
   * @param {boolean} suspended
   */
  async set(user, suspended) {
    if (suspended && !window.confirm(`Suspend ${user}? Every session of theirs ends now.`)) return;
    const ack = await this.request('suspend-user', { user, suspended });
    if (!ack.success) {
      this.status.textContent =
        ack.code === 'not_found'
          ? `There is no user called “${user}”.`
          : actionError(ack, `${suspended ? 'suspend' : 'restore'} ${user}`);
      return;
    }
    this.input.value = '';
    this.status.textContent = suspended
      ? `${ack.user} is suspended; their sessions were ended.`
      : `${ack.user} may sign in again.`;
  }
}
