import { byId } from './lib/dom.js';
import { isJsonObject, NetworkError, requestJson } from './lib/http.js';
import { ChatApp, goToSignIn } from './chat/app.js';

const BOOT_RETRY_MS = 3000;

/**
 * Shows a start-up problem where the connection state normally goes.
 * @param {string} text
 */
function showBootProblem(text) {
  const banner = byId('connection-banner');
  banner.textContent = text;
  banner.dataset.state = 'error';
  banner.hidden = false;
}

/** The server session decides who we are; without one we go to the sign-in page. */
async function boot() {
  let result;
  try {
    result = await requestJson('/auth/me');
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    showBootProblem('Cannot reach the server. Retrying…');
    window.setTimeout(boot, BOOT_RETRY_MS);
    return;
  }
  if (result.status === 401) {
    goToSignIn();
    return;
  }
  const user = result.body?.user;
  const username = isJsonObject(user) ? user.username : undefined;
  if (!result.ok || typeof username !== 'string') {
    showBootProblem(`The server is not ready (HTTP ${result.status}). Retrying…`);
    window.setTimeout(boot, BOOT_RETRY_MS);
    return;
  }
  if (typeof io !== 'function') {
    showBootProblem('The chat client could not be loaded. Please reload the page.');
    return;
  }
  const editWindowMs = Number(result.body?.editWindowMs);
  new ChatApp(username, {
    admin: isJsonObject(user) && user.admin === true,
    editWindowMs: Number.isFinite(editWindowMs) ? editWindowMs : 0,
  }).start();
}

boot();
