import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { ensureEngine, findCompose, sh, type DockerTier } from './engine.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

declare module 'vitest' {
  export interface ProvidedContext {
    dockerTier: DockerTier;
  }
}

/**
 * Docker tier setup: an engine (started when root and none runs), a Compose command, and the three
 * base images (tools/docker/build-base-images.sh: present → kept, else pulled, else built locally).
 * Anything missing turns into one `skip` line instead of a failure.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const tier: DockerTier = { compose: [] };
  const engine = await ensureEngine();
  Object.assign(tier, engine);
  if (!tier.skip && process.getuid?.() !== 0)
    tier.skip =
      'needs root: the checks give test clients extra source addresses on the stack network (ip addr add)';
  if (
    !tier.skip &&
    !(await sh('sh', ['-c', 'command -v ip']).then(
      () => true,
      () => false,
    ))
  )
    tier.skip = 'no `ip` command (apt-get install iproute2)';
  if (!tier.skip) {
    const compose = await findCompose();
    if (compose) tier.compose = compose;
    else
      tier.skip =
        'neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)';
  }
  if (!tier.skip) {
    const started = Date.now();
    try {
      const out = await sh(path.join(ROOT, 'tools/docker/build-base-images.sh'), [], { timeoutMs: 900_000 });
      process.stdout.write(out);
      process.stdout.write(
        `[docker tier] base images ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
      );
    } catch (err) {
      tier.skip = `the base images could not be made: ${(err as Error).message.split('\n')[0] ?? ''}`;
    }
  }
  if (tier.skip) process.stdout.write(`[docker tier] SKIPPED: ${tier.skip}\n`);
  project.provide('dockerTier', tier);
  return async () => {
    if (tier.startedDockerd !== undefined) {
      try {
        process.kill(tier.startedDockerd, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
}
