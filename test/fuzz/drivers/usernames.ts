import fc from 'fast-check';
import { lookalikePair, unicodeText } from '../arbitraries/unicode.js';
import type { Target } from '../arbitraries/http.js';
import { Tally } from '../figures.js';
import { nameIdentity, usernameSchema } from '../limits.js';
import { isRecord } from '../oracles/ack.js';
import { checkHttp, parseJson, type Answer, type SentRequest } from '../oracles/http.js';
import { checkProperty, holds, type FuzzEnv, type PropertyOutcome } from '../runner.js';
import { preview } from '../wire.js';
import { sendHttp } from './http.js';

/**
 * Usernames from the Unicode classes: register answers 201 or a known code (checkHttp); an accepted
 * name is the one /auth/me reports on another instance, and it signs in on a third. A lookalike of
 * an existing name is a new user or `username_taken`, never a 5xx.
 */

export interface UsernameOptions {
  env: FuzzEnv;
  name: string;
  url(target: Target): string;
  metricsToken: string;
  runs: number;
}

const PASSWORD = 'fuzz-password-1';

export async function usernameProperty(
  o: UsernameOptions,
): Promise<{ outcome: PropertyOutcome; tally: Tally }> {
  const tally = new Tally();
  const send = async (target: Target, req: Omit<SentRequest, 'target'>): Promise<[Answer, string[]]> => {
    const sent = { ...req, target };
    const res = await sendHttp(o.url(target), sent);
    tally.add('http');
    tally.add(`status:${req.method} ${req.path.split('?')[0] ?? ''} ${res.status}`);
    return [res, checkHttp(sent, res, o.metricsToken).problems];
  };
  const json = (body: unknown) => ({
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(body)),
  });

  /** Registers `username` and checks the account it made; returns the register status. */
  const register = async (username: string): Promise<number> => {
    const [res, problems] = await send(0, {
      method: 'POST',
      path: '/auth/register',
      ...json({ username, password: PASSWORD }),
    });
    holds(problems, `register ${preview(username)}`);
    if (res.status !== 201) return res.status;
    const body = parseJson(res.body);
    const user = isRecord(body) && isRecord(body.user) ? body.user.username : undefined;
    // The account holds the name as the protocol's username schema reads it.
    const expected = usernameSchema.safeParse(username);
    if (!expected.success || user !== expected.data)
      problems.push(`registered as ${preview(user)} for ${preview(username)}`);
    const cookie = res.headers['set-cookie']?.[0]?.split(';')[0] ?? '';
    const [me, meProblems] = await send(1, { method: 'GET', path: '/auth/me', headers: { cookie } });
    const meBody = parseJson(me.body);
    const meUser = isRecord(meBody) && isRecord(meBody.user) ? meBody.user.username : undefined;
    if (me.status !== 200 || meUser !== user)
      meProblems.push(`/auth/me on another instance says ${preview(meUser)}, register said ${preview(user)}`);
    const [login, loginProblems] = await send(2, {
      method: 'POST',
      path: '/auth/login',
      ...json({ username: user, password: PASSWORD }),
    });
    if (login.status !== 200) loginProblems.push(`sign-in as ${preview(user)} answered ${login.status}`);
    holds([...problems, ...meProblems, ...loginProblems], `user ${preview(user)}`);
    return res.status;
  };

  /**
   * Usernames are unique by identity (text-rules.ts nameIdentity): once `first` is an account, a
   * valid `second` with its identity is `username_taken` (409), and signs in as `first`'s account.
   */
  const lookalike = async (first: string, firstStatus: number, second: string): Promise<void> => {
    const status = await register(second);
    const same =
      usernameSchema.safeParse(first).success &&
      usernameSchema.safeParse(second).success &&
      nameIdentity(first) === nameIdentity(second);
    if (!same || (firstStatus !== 201 && firstStatus !== 409)) return;
    const problems: string[] = [];
    if (status !== 409) problems.push(`registered ${status} though ${preview(first)} has its identity`);
    const [login, loginProblems] = await send(1, {
      method: 'POST',
      path: '/auth/login',
      ...json({ username: second, password: PASSWORD }),
    });
    const body = parseJson(login.body);
    const user = isRecord(body) && isRecord(body.user) ? body.user.username : undefined;
    if (firstStatus === 201 && (login.status !== 200 || user !== first))
      loginProblems.push(
        `sign-in as ${preview(second)} answered ${login.status} ${preview(user)}, not ${preview(first)}`,
      );
    holds([...problems, ...loginProblems], `lookalike ${preview(second)} of ${preview(first)}`);
  };

  const name = fc.oneof(
    unicodeText(8),
    lookalikePair(fc.stringMatching(/^[a-z][a-z0-9_.]{2,12}$/)).map(([a, b]) => `${a}|${b}`),
  );
  const outcome = await checkProperty(
    o.env,
    o.name,
    name,
    async (n) => {
      // A pair (`a|b`) registers both: the second is a lookalike of the first.
      const [first, second] = n.split('|');
      if (first === undefined) return;
      const status = await register(first);
      if (second !== undefined) await lookalike(first, status, second);
    },
    {
      numRuns: o.runs,
      examples: ['Straße|STRASSE', 'kelvin|\u212aelvin', 'ali|AL\u0130', '\u3164\u3164\u3164'],
    },
  );
  return { outcome, tally };
}
