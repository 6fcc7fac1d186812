const NOTICE_MS = 12_000;

/**
 * #connection-banner: hidden while connected, "Reconnecting…" while not, and briefly a notice
 * after a reconnect that could not fill the gap.
 */
export class ConnectionBanner {
  #timer = 0;

  /** @param {HTMLElement} banner */
  constructor(banner) {
    this.banner = banner;
  }

  connecting() {
    this.#show('Connecting…', 'connecting');
  }

  reconnecting() {
    this.#show('Reconnecting…', 'reconnecting');
  }

  connected() {
    this.#clearTimer();
    this.banner.hidden = true;
    this.banner.textContent = '';
    delete this.banner.dataset.state;
  }

  /**
   * A lasting problem the user must act on (e.g. this page's origin is not allowed).
   * @param {string} text
   */
  error(text) {
    this.#show(text, 'error');
  }

  /**
   * Shown for a while, then hidden again (unless the connection drops meanwhile).
   * @param {string} text
   */
  notice(text) {
    this.#show(text, 'notice');
    this.#timer = window.setTimeout(() => this.connected(), NOTICE_MS);
  }

  /**
   * @param {string} text
   * @param {'connecting' | 'reconnecting' | 'error' | 'notice'} state
   */
  #show(text, state) {
    this.#clearTimer();
    this.banner.textContent = text;
    this.banner.dataset.state = state;
    this.banner.hidden = false;
  }

  #clearTimer() {
    window.clearTimeout(this.#timer);
    this.#timer = 0;
  }
}
