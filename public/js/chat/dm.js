import { actionError } from './error-text.js';
import { sameUser } from './format.js';

/** @typedef {import('./types.js').ChatRoom} ChatRoom */
/** @typedef {import('./types.js').MemberAnswer<'open-dm'>} OpenDmAnswer */

/** Usernames: 3–32 of letters, digits, _ . - (USERNAME_RE in src/protocol.ts). */
const USERNAME_RE = /^[A-Za-z0-9_.-]{3,32}$/;

/**
 * Starting a direct message: the sidebar's "Message a user…" form and the "Message" buttons of the
 * online list. `open-dm` is idempotent, so asking again for an existing conversation opens it.
 */
export class DirectMessages {
  #busy = false;

  /**
   * @param {object} deps
   * @param {string} deps.me
   * @param {HTMLFormElement} deps.form     #dm-form
   * @param {HTMLInputElement} deps.input   #dm-input
   * @param {HTMLButtonElement} deps.button #dm-start
   * @param {HTMLElement} deps.error        #dm-error
   * @param {(user: string) => Promise<OpenDmAnswer>} deps.openDm  the `open-dm` request
   * @param {(room: ChatRoom) => void} deps.onOpened  shows the conversation
   */
  constructor({ me, form, input, button, error, openDm, onOpened }) {
    this.me = me;
    this.input = input;
    this.button = button;
    this.error = error;
    this.openDm = openDm;
    this.onOpened = onOpened;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.open(input.value.trim(), input);
    });
  }

  /**
   * Opens (or creates) the conversation with `user`; problems are explained under the form and
   * focus goes back to `from`.
   * @param {string} user
   * @param {HTMLElement} from  the field or button that asked
   */
  async open(user, from) {
    if (this.#busy) return;
    const problem = !user
      ? 'Please enter a username.'
      : sameUser(user, this.me)
        ? 'That is you: pick someone else to message.'
        : USERNAME_RE.test(user)
          ? ''
          : 'Usernames are 3–32 characters of letters, digits, _ . or -.';
    this.#showError(problem);
    if (problem) {
      from.focus();
      return;
    }
    this.#busy = true;
    this.button.disabled = true;
    const ack = await this.openDm(user);
    this.#busy = false;
    this.button.disabled = false;
    if (!ack.success) {
      this.#showError(
        ack.code === 'not_found'
          ? `There is no user called “${user}”.`
          : actionError(ack, `start a conversation with ${user}`),
      );
      from.focus();
      return;
    }
    if (from === this.input) this.input.value = '';
    this.onOpened(ack.room);
  }

  /** @param {string} text */
  #showError(text) {
    this.error.textContent = text;
    if (text) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }
}
