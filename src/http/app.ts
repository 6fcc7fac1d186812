import { fileURLToPath } from 'node:url';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config.js';
import { AppError, statusOf, toFailBody } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { HTTP_BODY_MAX_BYTES } from '../protocol.js';
import { requireToken } from './async.js';
import { apiRoutes, type ApiDeps } from './api-routes.js';
import { authRoutes, type AuthDeps } from './auth-routes.js';
import { createProxyCheck } from './proxy-check.js';
import { readinessResponse, type ReadinessState } from './readiness.js';
import type { SessionMiddleware } from './session.js';

export const PUBLIC_DIR = fileURLToPath(new URL('../../public/', import.meta.url));

export interface AppDeps extends AuthDeps, Omit<ApiDeps, 'proxyStatus'> {
  config: Readonly<Config>;
  log: Logger;
  session: SessionMiddleware;
  metrics: Metrics;
  /** This instance's readiness (see readiness.ts for what each state means). */
  readiness(): Promise<ReadinessState>;
}

/** Strict CSP: no inline script or style; the socket connects back to this origin only. */
const securityHeaders = helmet({
  contentSecurityPolicy: {
    useDefaults: true,
    directives: {
      'default-src': ["'self'"],
      'script-src': ["'self'"],
      'style-src': ["'self'"],
      'img-src': ["'self'", 'data:'],
      'connect-src': ["'self'"],
      'object-src': ["'none'"],
      'base-uri': ["'none'"],
      'frame-ancestors': ["'none'"],
      'form-action': ["'self'"],
      // Left to the TLS terminator: on plain-HTTP deployments it would break every asset load.
      'upgrade-insecure-requests': null,
    },
  },
  crossOriginEmbedderPolicy: false,
});

export function createApp(deps: AppDeps): express.Express {
  const { config } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', 'strong');

  if (config.exposeInstanceId) {
    app.use((_req, res, next) => {
      res.set('X-Instance-Id', config.instanceId);
      next();
    });
  }

  const proxyCheck = createProxyCheck(deps.log.child({ mod: 'proxy' }));
  app.use(proxyCheck.middleware);

  app.get('/healthz', (_req, res) => {
    res
      .set('Cache-Control', 'no-store')
      .json({ success: true, status: 'alive', instance: config.instanceId });
  });
  app.get('/readyz', async (_req, res) => {
    const { status, body } = readinessResponse(await deps.readiness());
    res.set('Cache-Control', 'no-store').status(status).json(body);
  });
  app.get('/metrics', requireToken(config.metricsToken), async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.use(
    pinoHttp({
      logger: deps.log.child({ mod: 'http' }),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      customLogLevel: (_req, res, err) =>
        err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug',
      serializers: {
        req: (req: { method: string; url: string; remoteAddress?: string }) => ({
          method: req.method,
          url: req.url,
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(securityHeaders);

  app.get('/', (req, res) => res.redirect(302, req.session?.user ? '/chat.html' : '/auth.html'));
  app.use(
    express.static(PUBLIC_DIR, {
      index: false,
      maxAge: config.staticMaxAgeS * 1000,
      setHeaders: (res, path) => {
        // Pages revalidate each time (they decide what scripts load); assets may be cached briefly.
        if (path.endsWith('.html')) res.set('Cache-Control', 'no-cache');
      },
    }),
  );

  const json = express.json({
    limit: HTTP_BODY_MAX_BYTES,
    strict: true,
    type: ['application/json', 'application/*+json'],
  });
  const sessionMw: RequestHandler = deps.session;
  app.use('/auth', json, sessionMw, authRoutes(deps));
  app.use('/api', sessionMw, apiRoutes({ ...deps, proxyStatus: proxyCheck.status }));

  app.use((_req, _res, next) => next(new AppError('not_found', 'Not found.')));
  app.use(errorHandler(deps.log));
  return app;
}

/** Every error leaves as `{success:false, error, code}`; only unexpected ones are logged as errors. */
function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let body = toFailBody(err);
    const e = err as { type?: string; status?: number } | undefined;
    if (e?.type === 'entity.too.large')
      body = { success: false, error: 'The request body is too large.', code: 'payload_too_large' };
    else if (
      e?.type === 'entity.parse.failed' ||
      e?.type === 'encoding.unsupported' ||
      e?.type === 'charset.unsupported'
    )
      body = { success: false, error: 'The request body is not valid JSON.', code: 'invalid_payload' };
    else if (body.code === 'internal' && typeof e?.status === 'number' && e.status >= 400 && e.status < 500)
      // Other client errors raised by express/body-parser: a path parameter with broken
      // %-encoding (URIError), a body that does not match its Content-Encoding (zlib), an aborted
      // or short body. The client's fault, not ours: 400, not 500 and an error log line.
      body = { success: false, error: 'The request is malformed.', code: 'invalid_payload' };
    if (body.code === 'internal') log.error({ err, url: req.url }, 'request failed');
    if (body.code === 'unavailable') log.warn({ url: req.url }, 'request failed: redis unavailable');
    if (body.retryAfterMs) res.set('Retry-After', String(Math.ceil(body.retryAfterMs / 1000)));
    if (res.headersSent) return;
    res.status(statusOf(body)).json(body);
  };
}
