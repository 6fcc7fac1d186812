import { typingText, sameUser } from './format.js';

const TYPING_EXPIRY_MS = 4000;
const TYPING_RESEND_MS = 2000;

/**
 * "alice is typing…" for the current room. Each name expires on its own 4 s after its last
 * refresh, so a lost `typing: false` (closed tab, network cut) cannot leave it stuck.
 */
export class TypingIndicator {
  /** @type {Map<string, number>} user → expiry timer */
  #timers = new Map();

  /**
   * @param {HTMLElement} line  #typing-indicator
   * @param {string} me
   */
  constructor(line, me) {
    this.line = line;
    this.me = me;
  }

  /** @param {{ user: string, typing: boolean }} event */
  update({ user, typing }) {
    if (typeof user !== 'string' || sameUser(user, this.me)) return;
    window.clearTimeout(this.#timers.get(user));
    if (typing) {
      this.#timers.set(
        user,
        window.setTimeout(() => this.remove(user), TYPING_EXPIRY_MS),
      );
    } else {
      this.#timers.delete(user);
    }
    this.#render();
  }

  /**
   * Someone's message arrived: they are no longer typing it.
   * @param {string} user
   */
  remove(user) {
    if (!this.#timers.has(user)) return;
    window.clearTimeout(this.#timers.get(user));
    this.#timers.delete(user);
    this.#render();
  }

  clear() {
    for (const timer of this.#timers.values()) window.clearTimeout(timer);
    this.#timers.clear();
    this.#render();
  }

  #render() {
    this.line.textContent = typingText([...this.#timers.keys()]);
  }
}

/**
 * Tells the room we are typing: `true` at most once per 2 s while the input has text (the others
 * expire us after 4 s), `false` once when it empties or the message is sent.
 */
export class TypingNotifier {
  #lastTrueAt = 0;
  #active = false;

  /** @param {(typing: boolean) => void} emit */
  constructor(emit) {
    this.emit = emit;
  }

  /** @param {string} value  the input's current text */
  onInput(value) {
    if (value === '') {
      this.stop();
      return;
    }
    const now = Date.now();
    if (now - this.#lastTrueAt < TYPING_RESEND_MS) return;
    this.#lastTrueAt = now;
    this.#active = true;
    this.emit(true);
  }

  stop() {
    if (this.#active) this.emit(false);
    this.#active = false;
    this.#lastTrueAt = 0;
  }

  /** Forgets state without telling anyone (the server drops it on a room switch or disconnect). */
  reset() {
    this.#active = false;
    this.#lastTrueAt = 0;
  }
}
