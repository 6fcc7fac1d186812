import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';

/** Express 5 forwards rejected promises itself; this only narrows the handler type. */
export const route =
  (fn: (req: Request, res: Response, next: NextFunction) => Promise<void>): RequestHandler =>
  (req, res, next) =>
    fn(req, res, next);

export function regenerate(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((err: unknown) => (err ? reject(err) : resolve())),
  );
}

export function save(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.save((err: unknown) => (err ? reject(err) : resolve())),
  );
}

export function destroy(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.destroy((err: unknown) => (err ? reject(err) : resolve())),
  );
}

/** The signed-in username, or `unauthorized`. */
export function requireUser(req: Request): string {
  const username = req.session?.user?.username;
  if (!username) throw new AppError('unauthorized', 'Sign in first.');
  return username;
}

/** Bearer token guard for operator endpoints; without METRICS_TOKEN they are disabled (404). */
export function requireToken(token: string | undefined): RequestHandler {
  return (req, _res, next) => {
    if (!token) return next(new AppError('not_found', 'Not found.'));
    const header = req.get('authorization') ?? '';
    if (header !== `Bearer ${token}`)
      return next(new AppError('unauthorized', 'A valid operator token is required.'));
    next();
  };
}
