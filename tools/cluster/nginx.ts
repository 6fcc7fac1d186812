import { mkdirSync } from 'node:fs';
import { findBinary } from './paths.js';
import { tcpReady } from './ready.js';
import { managedView, mergeEnv, Supervised, type ManagedProcess } from './process.js';

/** nginx in the foreground, from a config rendered by nginx-conf.ts. */

export interface StartNginxOptions {
  confPath: string;
  /** nginx's prefix (`-p`): relative paths in the config resolve against it. */
  prefixDir: string;
  /** When given, start resolves once this address accepts connections. */
  listen?: { host: string; port: number };
  /** Default: nginx from PATH or /usr/sbin. */
  binary?: string;
  timeoutMs?: number;
}

export interface NginxProcess extends ManagedProcess {
  /** Fast shutdown (SIGTERM to the master, which stops its workers); SIGKILL after timeoutMs. */
  stop(timeoutMs?: number): Promise<number | null>;
  /** SIGKILL the master and its workers. */
  kill(): Promise<number | null>;
  /** Re-reads the config (SIGHUP), e.g. after re-rendering it with new upstreams. */
  reload(): void;
}

export async function startNginx(opts: StartNginxOptions): Promise<NginxProcess> {
  const binary = opts.binary ?? findBinary('nginx');
  if (binary === undefined) throw new Error('nginx not found on PATH or in /usr/sbin');
  mkdirSync(opts.prefixDir, { recursive: true });
  const proc = new Supervised(binary, ['-c', opts.confPath, '-p', opts.prefixDir, '-g', 'daemon off;'], {
    name: 'nginx',
    env: mergeEnv({}),
  });
  const listen = opts.listen;
  if (listen !== undefined) {
    const timeoutMs = opts.timeoutMs ?? 15_000;
    await proc.readyWhen(
      `listening on ${listen.host}:${listen.port}`,
      tcpReady(listen.host, listen.port, timeoutMs),
    );
  }
  return Object.assign(managedView(proc), {
    stop: (stopTimeoutMs = 10_000) => proc.stop('SIGTERM', stopTimeoutMs),
    kill: () => proc.stop('SIGKILL', 10_000),
    reload: () => proc.signal('SIGHUP'),
  });
}
