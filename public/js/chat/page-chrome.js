import { flash } from '../lib/dom.js';

const APP_NAME = 'Relay Chat';
const NOTICE_MS = 8000;

/**
 * The page around the message log: the room header and member count, the composer's enabled state,
 * the empty-log hint, the notice line and the tab title with its unseen-message count.
 */
export class PageChrome {
  #unseen = 0;

  /**
   * @param {object} ui
   * @param {HTMLElement} ui.currentRoom     #current-room
   * @param {HTMLElement} ui.roomCount       #room-count
   * @param {HTMLElement} ui.chatEmpty       #chat-empty
   * @param {HTMLInputElement} ui.messageInput
   * @param {HTMLButtonElement} ui.sendButton
   * @param {HTMLElement} ui.notice          #chat-notice
   */
  constructor(ui) {
    this.ui = ui;
  }

  /**
   * The header names the room, or says none is selected.
   * @param {string | null} room
   */
  showRoom(room) {
    this.ui.currentRoom.textContent = room ?? 'No room selected';
    this.ui.currentRoom.classList.toggle('placeholder', room === null);
  }

  /** @param {boolean} enabled */
  setComposerEnabled(enabled) {
    this.ui.messageInput.disabled = !enabled;
    this.ui.sendButton.disabled = !enabled;
  }

  /** @param {number | null} count */
  setRoomCount(count) {
    const el = this.ui.roomCount;
    if (count === null || !Number.isFinite(count)) {
      el.textContent = '';
      delete el.dataset.count;
      return;
    }
    el.textContent = `Members: ${count}`;
    el.dataset.count = String(count);
  }

  /**
   * @param {boolean} logEmpty
   * @param {boolean} inRoom
   */
  renderEmptyState(logEmpty, inRoom) {
    this.ui.chatEmpty.hidden = !logEmpty;
    this.ui.chatEmpty.textContent = inRoom ? 'No messages yet. Say hello!' : 'Pick a room to start chatting.';
  }

  /**
   * A message arrived while the tab is hidden.
   * @param {string | null} room
   */
  countUnseen(room) {
    this.#unseen += 1;
    this.updateTitle(room);
  }

  /**
   * The tab is visible again.
   * @param {string | null} room
   */
  clearUnseen(room) {
    this.#unseen = 0;
    this.updateTitle(room);
  }

  /** @param {string | null} room */
  updateTitle(room) {
    const prefix = this.#unseen > 0 ? `(${this.#unseen}) ` : '';
    document.title = room ? `${prefix}${room} · ${APP_NAME}` : APP_NAME;
  }

  /** @param {string} text */
  notify(text) {
    flash(this.ui.notice, text, NOTICE_MS);
  }
}
