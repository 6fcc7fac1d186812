import { NetworkError, requestJson } from '../lib/http.js';

const PAGE_SIZE = 50;

/**
 * The "Load older" button: pages back through the HTTP history API from the oldest seq shown and
 * hides itself once the server says there is nothing more.
 */
export class OlderHistory {
  #exhausted = false;
  #loading = false;

  /**
   * @param {object} deps
   * @param {HTMLElement} deps.button                   #load-older
   * @param {HTMLElement} deps.focusFallback            where focus goes when the button hides
   * @param {import('./message-list.js').MessageList} deps.messages
   * @param {() => string | null} deps.currentRoom
   * @param {(messages: unknown[]) => void} deps.onOlder  puts a page on top of the log (untrusted items)
   * @param {() => void} deps.onUnauthorized
   * @param {(text: string) => void} deps.notify
   */
  constructor(deps) {
    this.button = deps.button;
    this.focusFallback = deps.focusFallback;
    this.messages = deps.messages;
    this.currentRoom = deps.currentRoom;
    this.onOlder = deps.onOlder;
    this.onUnauthorized = deps.onUnauthorized;
    this.notify = deps.notify;
    this.button.addEventListener('click', () => this.load());
  }

  /** New room: there may be older messages again. */
  reset() {
    this.#exhausted = false;
    this.update();
  }

  /** Shown while there may be messages before the oldest one shown (seqs start at 1). */
  update() {
    const { minSeq } = this.messages;
    const visible = Boolean(this.currentRoom()) && !this.#exhausted && Number.isFinite(minSeq) && minSeq > 1;
    if (!visible && document.activeElement === this.button) this.focusFallback.focus();
    this.button.hidden = !visible;
  }

  async load() {
    const room = this.currentRoom();
    const before = this.messages.minSeq;
    if (!room || !Number.isFinite(before) || this.#loading) return;
    this.#setLoading(true);
    try {
      const url = `/api/rooms/${encodeURIComponent(room)}/messages?before=${before}&limit=${PAGE_SIZE}`;
      const result = await requestJson(url);
      if (room !== this.currentRoom()) return;
      if (result.status === 401) {
        this.onUnauthorized();
        return;
      }
      if (!result.ok) {
        const error = result.body?.error;
        this.notify(
          (typeof error === 'string' && error) || `Could not load older messages (HTTP ${result.status}).`,
        );
        return;
      }
      const messages = result.body?.messages;
      const older = Array.isArray(messages) ? messages : [];
      this.onOlder(older);
      this.#exhausted = !result.body?.hasMore || older.length === 0;
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
      this.notify('Could not reach the server to load older messages.');
    } finally {
      this.#setLoading(false);
      this.update();
    }
  }

  /** aria-disabled rather than disabled, so keyboard focus stays on the button meanwhile. */
  /** @param {boolean} loading */
  #setLoading(loading) {
    this.#loading = loading;
    this.button.setAttribute('aria-disabled', String(loading));
    if (loading) this.button.setAttribute('aria-busy', 'true');
    else this.button.removeAttribute('aria-busy');
  }
}
