import { roomCreationError } from './error-text.js';

/** The sidebar's "create room" form; errors go to #room-error, success hands the name on. */
export class RoomForm {
  /**
   * @param {object} deps
   * @param {HTMLFormElement} deps.form     #create-room-form
   * @param {HTMLInputElement} deps.input   #room-input
   * @param {HTMLButtonElement} deps.button #create-room
   * @param {HTMLElement} deps.error        #room-error
   * @param {(name: string) => Promise<import('./types.js').Answer<'create-room'>>} deps.create
   *   resolves to the create-room ack
   * @param {(name: string) => void} deps.onCreated       gets the server's (normalised) name
   */
  constructor({ form, input, button, error, create, onCreated }) {
    this.input = input;
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
    const ack = await this.create(name);
    this.button.disabled = false;
    if (!ack?.success) {
      this.#showError(roomCreationError(ack, name));
      this.input.focus();
      return;
    }
    this.input.value = '';
    this.onCreated(typeof ack.room?.name === 'string' ? ack.room.name : name);
  }

  /** @param {string} text */
  #showError(text) {
    this.error.textContent = text;
    if (text) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }
}
