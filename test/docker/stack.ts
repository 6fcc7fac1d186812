import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sh } from './engine.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Container of the stack, as `docker inspect` shows it. */
export interface Container {
  id: string;
  name: string;
  ip: string;
  health: string;
  running: boolean;
}

/** A free TCP port on this machine (to publish nginx on). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * The real top-level docker-compose.yml (plus the test override of per-address limits) under a
 * unique project name, driven through the Compose command the setup found (v2 or v1).
 */
export class ComposeStack {
  readonly project = `chattest${randomBytes(4).toString('hex')}`;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    private readonly compose: string[],
    readonly port: number,
  ) {
    // The legacy builder: what Debian's engine runs (and all that Compose v1 drives).
    this.env = { CHAT_PORT: String(port), DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' };
  }

  /** Runs `<compose> -p <project> -f docker-compose.yml -f <override> <args>`. */
  run(args: string[], timeoutMs = 300_000): Promise<string> {
    const [file, ...pre] = this.compose;
    if (!file) throw new Error('no compose command');
    return sh(
      file,
      [
        ...pre,
        '-p',
        this.project,
        '-f',
        path.join(ROOT, 'docker-compose.yml'),
        '-f',
        path.join(ROOT, 'test/docker/compose.test-override.yml'),
        ...args,
      ],
      { env: this.env, cwd: ROOT, timeoutMs },
    );
  }

  /** `up -d` with `app` scaled to `replicas` (`--build` on the first call). */
  up(replicas: number, extra: string[] = []): Promise<string> {
    return this.run(['up', '-d', ...extra, '--scale', `app=${replicas}`], 600_000);
  }

  /** Containers of one service, by label (works the same for Compose v1 and v2). */
  async containers(service: string): Promise<Container[]> {
    const ids = (
      await sh('docker', [
        'ps',
        '-a',
        '-q',
        '--filter',
        `label=com.docker.compose.project=${this.project}`,
        '--filter',
        `label=com.docker.compose.service=${service}`,
      ])
    )
      .split('\n')
      .filter(Boolean);
    if (ids.length === 0) return [];
    const format =
      '{{.Id}}|{{.Name}}|{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.Running}}';
    const out = await sh('docker', ['inspect', '--format', format, ...ids]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id = '', name = '', ip = '', health = '', running = ''] = line.split('|');
        return { id, name: name.replace(/^\//, ''), ip, health, running: running === 'true' };
      });
  }

  /** The stack network's bridge gateway on this host (where the published port is reachable). */
  async gateway(): Promise<{ gateway: string; subnet: string; bridge: string }> {
    const out = await sh('docker', [
      'network',
      'inspect',
      '--format',
      '{{.Id}}|{{range .IPAM.Config}}{{.Gateway}}|{{.Subnet}}{{end}}',
      `${this.project}_default`,
    ]);
    const [id = '', gateway = '', subnet = ''] = out.trim().split('|');
    return { gateway, subnet, bridge: `br-${id.slice(0, 12)}` };
  }

  async down(): Promise<void> {
    await this.run(['down', '-v', '--remove-orphans', '-t', '5'], 180_000);
  }
}

/**
 * Extra source addresses for test clients: /32 addresses at the top of the stack's subnet, added to
 * its bridge on this host, so nginx sees several clients (it hashes by address). Returned with a
 * remover. Docker hands out container addresses from the bottom of the subnet.
 */
export async function addSourceAddresses(
  bridge: string,
  subnet: string,
  count: number,
): Promise<{ addresses: string[]; remove: () => Promise<void> }> {
  const [base = '', bits = '24'] = subnet.split('/');
  const octets = base.split('.').map(Number);
  const n = ((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0);
  const size = 2 ** (32 - Number(bits));
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const a = (n + size - 2 - i) >>> 0;
    addresses.push([a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join('.'));
  }
  for (const a of addresses) await sh('ip', ['addr', 'add', `${a}/32`, 'dev', bridge]);
  return {
    addresses,
    remove: async () => {
      for (const a of addresses) await sh('ip', ['addr', 'del', `${a}/32`, 'dev', bridge]).catch(() => '');
    },
  };
}
