import { Router } from 'express';
import { AppError } from '../errors.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { RateLimits } from '../rate-limits.js';
import type { ModerationStore } from '../store/moderation.js';
import type { UserStore } from '../store/users.js';
import { credentialsSchema, parse, type PublicUser } from '../protocol.js';
import { nameIdentity } from '../text-rules.js';
import { destroy, regenerate, requireUser, route, save } from './async.js';
import { SESSION_COOKIE } from './session.js';

export interface AuthDeps {
  users: UserStore;
  /** Operators (ADMIN_USERS, lower-cased) and the edit window, told to the signed-in user's page. */
  config: Readonly<Pick<Config, 'adminUsers' | 'editWindowMs'>>;
  limits: RateLimits;
  log: Logger;
  /** Disconnects every socket of a session id, on every instance. */
  endSessionSockets(sessionId: string): void;
  /** Issue 14: suspended users are refused; each session id is recorded per user. */
  moderation: ModerationStore;
}

export function authRoutes(deps: AuthDeps): Router {
  const router = Router();

  router.post(
    '/register',
    route(async (req, res) => {
      const { username, password } = parse(credentialsSchema, req.body);
      await deps.limits.consume('register_ip', req.ip ?? 'unknown');
      const user = await deps.users.register(username, password);
      await regenerate(req);
      req.session.user = { username: user.username };
      await save(req);
      await deps.moderation.rememberSession(user.username, req.sessionID);
      deps.log.info({ user: user.username }, 'registered');
      res.status(201).json({ success: true, user });
    }),
  );

  router.post(
    '/login',
    route(async (req, res) => {
      const { username, password } = parse(credentialsSchema, req.body);
      const ip = req.ip ?? 'unknown';
      const account = nameIdentity(username);
      // Keyed by account and address together; see rate-limits.ts and the README's rate-limit policy.
      await deps.limits.beforeLogin(account, ip);
      let user;
      try {
        user = await deps.users.verify(username, password);
      } catch (err) {
        if (err instanceof AppError && err.code === 'invalid_credentials')
          await deps.limits
            .loginFailed(account, ip)
            .catch((e: unknown) => deps.log.warn({ err: e }, 'could not count a failed sign-in'));
        throw err;
      }
      await deps.limits.loginSucceeded(account, ip);
      // Issue 14: checked after the password, so the answer tells nothing to who lacks it.
      if (await deps.moderation.isSuspended(user.username)) {
        deps.log.info({ user: user.username }, 'sign-in refused: suspended');
        throw new AppError('suspended', 'This account is suspended.');
      }
      // A fresh id on every sign-in: a session id planted before login is worthless after it.
      await regenerate(req);
      req.session.user = { username: user.username };
      await save(req);
      await deps.moderation.rememberSession(user.username, req.sessionID);
      // A suspension between the check above and the session's record would miss this session.
      if (await deps.moderation.isSuspended(user.username)) {
        await destroy(req);
        throw new AppError('suspended', 'This account is suspended.');
      }
      deps.log.info({ user: user.username }, 'signed in');
      res.json({ success: true, user });
    }),
  );

  router.post(
    '/logout',
    route(async (req, res) => {
      const sessionId = req.sessionID;
      const username = req.session?.user?.username;
      if (req.session) await destroy(req);
      res.clearCookie(SESSION_COOKIE, { path: '/' });
      if (sessionId && username) {
        deps.endSessionSockets(sessionId);
        deps.log.info({ user: username }, 'signed out');
      }
      res.json({ success: true });
    }),
  );

  /** Who is signed in, for pages that only ask: 200 with `user: null` when nobody is (no 401 noise). */
  router.get(
    '/session',
    route(async (req, res) => {
      const username = req.session?.user?.username;
      const user = username ? await deps.users.get(username) : undefined;
      res.set('Cache-Control', 'no-store');
      res.json({ success: true, user: user ? withRole(user) : null });
    }),
  );

  router.get(
    '/me',
    route(async (req, res) => {
      const username = requireUser(req);
      const user = await deps.users.get(username);
      if (!user) {
        await destroy(req);
        throw new AppError('unauthorized', 'Sign in first.');
      }
      res.json({ success: true, user: withRole(user), editWindowMs: deps.config.editWindowMs });
    }),
  );

  /**
   * The user as the signed-in page sees itself: `admin` says whether it is an operator
   * (ADMIN_USERS), so the page shows operator actions; the server still checks every one.
   */
  function withRole(user: PublicUser): PublicUser & { admin: boolean } {
    return { ...user, admin: deps.config.adminUsers.has(user.username.toLowerCase()) };
  }

  return router;
}
