import { byId } from './lib/dom.js';
import { NetworkError, requestJson, seconds } from './lib/http.js';

const CHAT_URL = '/chat.html';
const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
const PASSWORD_MIN_BYTES = 8;
const PASSWORD_MAX_BYTES = 72;
const NETWORK_ERROR = 'Could not reach the server. Check your connection and try again.';
const SUSPENDED = 'This account is suspended. Please contact an operator of this chat.';

const panels = { login: byId('login-panel'), register: byId('register-panel') };

/**
 * The fields of one credentials form.
 * @typedef {{ form: HTMLFormElement, username: HTMLInputElement, password: HTMLInputElement,
 *   submit: HTMLButtonElement, error: HTMLElement }} Fields
 */

/** @type {Fields} */
const login = {
  form: byId('login-form', window.HTMLFormElement),
  username: byId('login-username', window.HTMLInputElement),
  password: byId('login-password', window.HTMLInputElement),
  submit: byId('login-submit', window.HTMLButtonElement),
  error: byId('login-error'),
};

const register = {
  form: byId('register-form', window.HTMLFormElement),
  username: byId('register-username', window.HTMLInputElement),
  password: byId('register-password', window.HTMLInputElement),
  confirm: byId('register-confirm-password', window.HTMLInputElement),
  submit: byId('register-submit', window.HTMLButtonElement),
  error: byId('register-error'),
};

/**
 * Shows one panel, hides the other and moves focus to its first field.
 * @param {'login' | 'register'} name
 */
function showPanel(name) {
  panels.login.hidden = name !== 'login';
  panels.register.hidden = name !== 'register';
  (name === 'login' ? login.username : register.username).focus();
}

/**
 * UTF-8 length: the server (bcrypt) limits passwords in bytes, not characters.
 * @param {string} text
 */
function byteLength(text) {
  return new window.TextEncoder().encode(text).length;
}

/**
 * Puts an error on a form and marks the offending field (if any) for assistive tech.
 * @param {Fields} fields
 * @param {string} message
 * @param {HTMLInputElement | null} [field]
 */
function showError(fields, message, field = null) {
  fields.error.textContent = message;
  for (const input of fields.form.querySelectorAll('input')) {
    if (input === field) input.setAttribute('aria-invalid', 'true');
    else input.removeAttribute('aria-invalid');
  }
  field?.focus();
}

/** @param {Fields} fields */
function clearError(fields) {
  showError(fields, '');
}

/** Client-side checks mirroring the server's rules; returns null when the form is fine. */
function validateRegistration() {
  const username = register.username.value.trim();
  const password = register.password.value;
  if (!USERNAME_PATTERN.test(username)) {
    return {
      field: register.username,
      message: 'Usernames are 3–32 characters of letters, digits, _ . or -.',
    };
  }
  const bytes = byteLength(password);
  if (bytes < PASSWORD_MIN_BYTES || bytes > PASSWORD_MAX_BYTES) {
    return { field: register.password, message: 'Passwords must be 8–72 bytes long.' };
  }
  if (password !== register.confirm.value) {
    return { field: register.confirm, message: 'The passwords do not match.' };
  }
  return null;
}

/**
 * Turns a failed auth response into a sentence a person can act on.
 * @param {import('./lib/http.js').JsonResult} result
 */
function describeFailure({ status, body, retryAfterSeconds }) {
  switch (body?.code) {
    case 'username_taken':
      return 'That username is already taken. Please pick another one.';
    case 'invalid_credentials':
      return 'Wrong username or password.';
    case 'suspended':
      return SUSPENDED;
    case 'rate_limited':
      return retryAfterSeconds
        ? `Too many attempts. Please try again in ${seconds(retryAfterSeconds)}.`
        : 'Too many attempts. Please wait a moment and try again.';
    case 'invalid_payload':
      return typeof body.error === 'string' && body.error
        ? `Please check the form: ${body.error}`
        : 'Please check the form and try again.';
  }
  if (typeof body?.error === 'string' && body.error) return body.error;
  return `The server could not complete the request (HTTP ${status}). Please try again shortly.`;
}

/**
 * Which field a server error is about, so focus lands where the fix is.
 * @param {Fields} fields
 * @param {unknown} code
 */
function fieldForCode(fields, code) {
  if (code === 'username_taken') return fields.username;
  if (code === 'invalid_credentials') return fields.password;
  return null;
}

/**
 * Posts credentials; on success goes to the chat, otherwise shows the error.
 * @param {Fields} fields
 * @param {string} url
 */
async function submitCredentials(fields, url) {
  const payload = { username: fields.username.value.trim(), password: fields.password.value };
  fields.submit.disabled = true;
  fields.form.setAttribute('aria-busy', 'true');
  try {
    const result = await requestJson(url, { method: 'POST', body: payload });
    if (result.ok) {
      window.location.assign(CHAT_URL);
      return;
    }
    if (result.body?.code === 'invalid_credentials') fields.password.value = '';
    showError(fields, describeFailure(result), fieldForCode(fields, result.body?.code));
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    showError(fields, NETWORK_ERROR);
  } finally {
    fields.submit.disabled = false;
    fields.form.removeAttribute('aria-busy');
  }
}

/** @param {SubmitEvent} event */
function onLogin(event) {
  event.preventDefault();
  if (!login.username.value.trim()) return showError(login, 'Please enter your username.', login.username);
  if (!login.password.value) return showError(login, 'Please enter your password.', login.password);
  clearError(login);
  return submitCredentials(login, '/auth/login');
}

/** @param {SubmitEvent} event */
function onRegister(event) {
  event.preventDefault();
  const problem = validateRegistration();
  if (problem) return showError(register, problem.message, problem.field);
  clearError(register);
  return submitCredentials(register, '/auth/register');
}

/**
 * Already signed in (e.g. a bookmarked auth page): skip the form. Asks /auth/session, which answers
 * 200 with `user: null` when nobody is signed in, so a normal visit logs no failed request.
 */
async function redirectIfSignedIn() {
  try {
    const result = await requestJson('/auth/session');
    if (result.ok && result.body?.user) window.location.replace(CHAT_URL);
  } catch {
    // Offline: the form stays usable and reports the network error on submit.
  }
}

login.form.addEventListener('submit', onLogin);
register.form.addEventListener('submit', onRegister);
byId('show-register').addEventListener('click', () => showPanel('register'));
byId('show-login').addEventListener('click', () => showPanel('login'));
if (window.location.hash === '#register') showPanel('register');
// Sent here by the chat page when an operator suspended the account (socket event `suspended`).
if (new window.URLSearchParams(window.location.search).get('reason') === 'suspended')
  showError(login, SUSPENDED);
redirectIfSignedIn();
