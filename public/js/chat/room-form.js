import { roomCreationError } from './error-text.js';

/** The sidebar's "create room" form; errors go to #room-error, success hands the name on. */
export class RoomForm {
  /**
   * @param {object} deps
   * @param {HTMLFormElement} deps.form     #create-room-form
   * @param {HTMLInputElement} deps.input   #room-input
   * @param {HTMLButtonElement} deps.button #create-room
   * @param {HTMLElement} deps.error        #room-error
   * @param {HTMLInputElement} deps.privateBox  #room-private: create it private (invite only)
   * @param {(payload: import('./types.js').MemberEvents['create-room'][0]) =>
   *   Promise<import('./types.js').MemberAnswer<'create-room'>>} deps.create  the create-room request
   * @param {(room: import('./types.js').ChatRoom) => void} deps.onCreated  gets the server's record
   */
  constructor({ form, input, button, error, privateBox, create, onCreated }) {
    this.input = input;
    this.privateBox = privateBox;
    this.button = button;
    this.error = error;
    this.create = create;
    this.onCreated = onCreated;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#submit();
    });
  }

  async #submit() {
    const name = this.input.value.trim();
    if (!name) {
      this.#showError('Please enter a room name.');
      return;
    }
    this.#showError('');
    this.button.disabled = true;
    const isPrivate = this.privateBox.checked;
    // A public room keeps the plain-name payload every server version takes.
    const ack = await this.create(isPrivate ? { name, visibility: 'private' } : name);
    this.button.disabled = false;
    if (!ack?.success) {
      this.#showError(roomCreationError(ack, name));
      this.input.focus();
      return;
    }
    this.input.value = '';
    this.privateBox.checked = false;
    /** @type {import('./types.js').ChatRoom} */
    const fallback = { name, createdBy: '', createdAt: '', visibility: isPrivate ? 'private' : 'public' };
    this.onCreated(typeof ack.room?.name === 'string' ? ack.room : fallback);
  }

  /** @param {string} text */
  #showError(text) {
    this.error.textContent = text;
    if (text) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }
}
