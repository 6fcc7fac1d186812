/** The page's DOM event listeners: composer, paste warning, logout, jump-to-latest, visibility. */
import { NetworkError, requestJson } from '../lib/http.js';

/** @typedef {import('./app.js').ChatApp} ChatApp */

/**
 * Adds the page's listeners; they live as long as the page.
 * @param {ChatApp} app
 */
export function bindDom(app) {
  const { ui } = app;
  ui.messageForm.addEventListener('submit', (event) => app.sender.send(event));
  ui.messageInput.addEventListener('input', () => app.typingNotifier.onInput(ui.messageInput.value));
  ui.messageInput.addEventListener('paste', (event) => onPaste(app, event));
  ui.logout.addEventListener('click', () => logout(app));
  ui.jumpLatest.addEventListener('click', () => {
    app.messages.scrollToBottom();
    ui.jumpLatest.hidden = true;
    ui.messageInput.focus();
    app.noteSeen();
  });
  ui.chatBox.addEventListener('scroll', () => {
    if (!app.messages.isNearBottom()) return;
    ui.jumpLatest.hidden = true;
    app.noteSeen();
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    app.chrome.clearUnseen(app.room === null ? null : app.rooms.displayName(app.room));
    app.noteSeen();
  });
}

/** @param {ChatApp} app */
async function logout(app) {
  app.leaving = true; // the server's "io server disconnect" is expected from here on
  app.ui.logout.disabled = true;
  try {
    await requestJson('/auth/logout', { method: 'POST' });
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    app.leaving = false;
    app.ui.logout.disabled = false;
    app.chrome.notify('Could not reach the server to log out. Please try again.');
    return;
  }
  app.leave();
}

/**
 * The browser cuts a paste at the input's maxlength without a word: say so.
 * @param {ChatApp} app
 * @param {ClipboardEvent} event
 */
function onPaste(app, event) {
  const input = app.ui.messageInput;
  const pasted = event.clipboardData?.getData('text') ?? '';
  const max = input.maxLength;
  const selected = (input.selectionEnd ?? 0) - (input.selectionStart ?? 0);
  const room = max - (input.value.length - selected);
  if (max <= 0 || pasted.length <= room) return;
  app.chrome.notify(
    `The pasted text has ${pasted.length} characters; a message holds at most ${max}, so only the first ${Math.max(0, room)} were pasted.`,
  );
}
