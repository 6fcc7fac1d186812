import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { createServer } from './server.js';

/** Process entry: config, server, signals, exit codes. Everything else lives in server.ts. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger({ instanceId: config.instanceId, level: config.logLevel });
  if (config.sessionSecretIsDefault) {
    log.warn(
      'SESSION_SECRET is not set: using a development secret. Sessions are forgeable; never run this in production.',
    );
  }
  if (!config.rateLimits.enabled)
    log.warn('RATE_LIMITS=off: every rate limit is disabled (for load tests only)');
  if (!config.metricsToken) log.info('METRICS_TOKEN is not set: /metrics and /api/status are disabled');

  // A last line of defence: the adapter's unawaited commands are handled (withHandledRejections),
  // but a rejection nobody handled must not end the process either. Log it and keep serving.
  process.on('unhandledRejection', (reason) =>
    log.error({ err: reason }, 'unhandled rejection (kept running)'),
  );

  const server = await createServer(config, log);
  const port = await server.listen();
  log.info({ port, host: config.host }, `listening on http://${config.host}:${port}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'signal received');
    const force = setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown timed out; forcing exit');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
