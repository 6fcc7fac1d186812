import { postJson } from './http.js';

/** Test users: unique names and the one way tests register over HTTP. */

let counter = 0;
/** A unique valid username. */
export function uniqueUser(base = 'user'): string {
  counter += 1;
  return `${base}${counter}_${Math.random().toString(36).slice(2, 8)}`.slice(0, 32);
}

/** Registers a new user (from loopback address `from`, when given) and returns its session cookie. */
export async function signUp(
  url: string,
  username = uniqueUser(),
  password = 'password123',
  from?: string,
): Promise<{ username: string; cookie: string }> {
  const res = await postJson(`${url}/auth/register`, { username, password }, undefined, false, from);
  if (res.status !== 201 || !res.cookie) {
    throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  }
  return { username, cookie: res.cookie };
}
