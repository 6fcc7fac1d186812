import fc from 'fast-check';
import { lookalikePair, unicodeText } from '../arbitraries/unicode.js';
import type { Target } from '../arbitraries/http.js';
import { Tally } from '../figures.js';
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

  const register = async (username: string): Promise<void> => {
    const [res, problems] = await send(0, {
      method: 'POST',
      path: '/auth/register',
      ...json({ username, password: PASSWORD }),
    });
    holds(problems, `register ${preview(username)}`);
    if (res.status !== 201) return;
    const body = parseJson(res.body);
    const user = isRecord(body) && isRecord(body.user) ? body.user.username : undefined;
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
    holds([...meProblems, ...loginProblems], `user ${preview(user)}`);
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
      for (const part of n.includes('|') ? n.split('|') : [n]) await register(part);
    },
    {
      numRuns: o.runs,
      examples: ['Straße|STRASSE', 'kelvin|\u212aelvin', 'ali|AL\u0130', '\u3164\u3164\u3164'],
    },
  );
  return { outcome, tally };
}
