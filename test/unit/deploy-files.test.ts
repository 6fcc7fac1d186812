import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';

/**
 * The deployment files, read with a real YAML parser. Kubernetes manifests are validated against
 * the Kubernetes API's JSON schemas (kubernetes-models, generated from the API's OpenAPI spec) and
 * the Gateway API's CRD schemas (@kubernetes-models/gateway-api), both compiled with ajv; then the
 * settings that make a cluster work are checked on the typed objects. The compose stack and the
 * Dockerfile run for real in the docker tier (test/docker).
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

type Doc = Record<string, unknown>;

/** Model classes by `apiVersion kind`: each validates its data against its schema. */
const MODELS = {
  'v1 Namespace': Namespace,
  'v1 ConfigMap': ConfigMap,
  'v1 Service': Service,
  'apps/v1 Deployment': Deployment,
  'apps/v1 StatefulSet': StatefulSet,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1 NetworkPolicy': NetworkPolicy,
  'gateway.networking.k8s.io/v1 Gateway': Gateway,
  'gateway.networking.k8s.io/v1 HTTPRoute': HTTPRoute,
} as const;
type ModelKey = keyof typeof MODELS;

/** `.dockerignore` patterns, for a simple "is this path excluded?" check (top-level names only). */
function dockerIgnored(): string[] {
  return read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<string, Doc & { environment?: Record<string, string>; command?: string[] }>;
    volumes: Record<string, unknown>;
  };
  const { redis, app, nginx, secrets } = compose.services;

  it('has the secrets, redis, app and nginx services', () => {
    expect(Object.keys(compose.services)).toEqual(['secrets', 'redis', 'app', 'nginx']);
  });

  it('needs no setup: secrets are generated once into a volume, or taken from .env', () => {
    const script = (secrets?.command ?? []).join('\n');
    expect(script).toContain('put session-secret');
    expect(script).toContain('put redis-password');
    // Generated only when the file is missing or empty: never regenerated per run.
    expect(script).toMatch(/elif \[ ! -s "\$\$1" \]/);
    expect(secrets?.volumes).toContain('secrets:/run/chat-secrets');
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['secrets', 'redis-data']));
  });

  it('runs redis with a password, AOF, noeviction and an authenticated healthcheck', () => {
    expect(redis?.image).toBe('redis:7');
    const command = (redis?.command ?? []).join(' ');
    for (const arg of ['--requirepass', '--appendonly yes', '--maxmemory-policy noeviction'])
      expect(command).toContain(arg);
    expect(JSON.stringify(redis?.healthcheck)).toContain('REDISCLI_AUTH');
    expect(redis?.depends_on).toMatchObject({ secrets: { condition: 'service_completed_successfully' } });
  });

  it('builds app from deploy/Dockerfile with the secrets as files and no fixed host port', () => {
    expect(app?.build).toEqual({ context: '.', dockerfile: 'deploy/Dockerfile' });
    const env = app?.environment ?? {};
    expect(env.REDIS_URL).toBe('redis://redis:6379');
    expect(env.REDIS_PASSWORD_FILE).toBe('/run/chat-secrets/redis-password');
    expect(env.SESSION_SECRET_FILE).toBe('/run/chat-secrets/session-secret');
    expect(env.NODE_ENV).toBe('production');
    // nginx is one hop: trust exactly that one.
    expect(env.TRUST_PROXY).toBe('1');
    expect(app?.ports).toBeUndefined();
    expect(app?.depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
  });

  it('puts nginx with the top-level nginx.conf on CHAT_PORT (8080 by default)', () => {
    expect(nginx?.image).toBe('nginx:1.27');
    expect(nginx?.volumes).toContain('./nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(nginx?.ports).toEqual(['${CHAT_PORT:-8080}:80']);
    expect(existsSync(path.join(ROOT, 'nginx.conf'))).toBe(true);
  });
});

describe('deploy/Dockerfile', () => {
  const dockerfile = read('deploy/Dockerfile').replace(/\\\n\s*/g, ' ');
  const instructions = dockerfile
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('copies only sources that exist and that .dockerignore lets through', () => {
    const ignored = dockerIgnored();
    const copies = instructions.filter((l) => /^COPY\s/.test(l) && !/--from=/.test(l));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const args = copy
        .split(/\s+/)
        .slice(1)
        .filter((a) => !a.startsWith('--'));
      for (const source of args.slice(0, -1)) {
        expect(existsSync(path.join(ROOT, source)), source).toBe(true);
        expect(ignored, `${source} is in .dockerignore`).not.toContain(source.replace(/\/$/, ''));
      }
    }
  });

  it('builds in one stage and runs as node in a slim one, through the secrets entrypoint', () => {
    expect(instructions.filter((l) => l.startsWith('FROM node:20-bookworm-slim'))).toHaveLength(2);
    for (const step of ['npm ci', 'npm run build', 'npm prune --omit=dev']) {
      expect(
        instructions.some((l) => l.startsWith('RUN') && l.includes(step)),
        step,
      ).toBe(true);
    }
    // Nothing but the npm registry is reached during the build (no apt, no downloads).
    expect(instructions.filter((l) => /^RUN .*(apt-get|curl|wget)/.test(l))).toEqual([]);
    const lastFrom = instructions.map((l) => l.startsWith('FROM')).lastIndexOf(true);
    const runtime = instructions.slice(lastFrom);
    for (const dir of ['dist', 'node_modules', 'public', 'package.json']) {
      expect(
        runtime.some((l) => l.startsWith('COPY') && l.includes(dir)),
        dir,
      ).toBe(true);
    }
    expect(runtime).toContain('USER node');
    expect(runtime).toContain('ENTRYPOINT ["/usr/local/bin/chat-entrypoint"]');
    expect(runtime.join('\n')).toMatch(/CMD \["node", ("--[a-z-]+=\d+", )*"dist\/main\.js"\]/);
  });

  it('needs no compiler on any platform: the native WebSocket helpers are optional', () => {
    const pkg = JSON.parse(read('package.json')) as {
      dependencies: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of ['bufferutil', 'utf-8-validate']) {
      expect(pkg.dependencies[name], name).toBeUndefined();
      expect(pkg.optionalDependencies?.[name], name).toBeDefined();
    }
  });

  it('its entrypoint reads *_FILE secrets and puts REDIS_PASSWORD into a REDIS_URL without credentials', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'entrypoint-'));
    try {
      writeFileSync(path.join(dir, 'pw'), 'c0ffee');
      writeFileSync(path.join(dir, 'secret'), 's'.repeat(40));
      const run = (env: Record<string, string>): string =>
        execFileSync(
          'sh',
          [
            path.join(ROOT, 'deploy/docker-entrypoint.sh'),
            'sh',
            '-c',
            'printf "%s|%s|%s" "$REDIS_URL" "$SESSION_SECRET" "${REDIS_PASSWORD:-none}"',
          ],
          { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' },
        );
      expect(
        run({
          REDIS_URL: 'redis://redis:6379',
          REDIS_PASSWORD_FILE: path.join(dir, 'pw'),
          SESSION_SECRET_FILE: path.join(dir, 'secret'),
        }),
      ).toBe(`redis://:c0ffee@redis:6379|${'s'.repeat(40)}|none`);
      // A value given directly wins over the file; a URL with its own credentials is kept.
      expect(run({ REDIS_URL: 'rediss://:own@r:6380', REDIS_PASSWORD: 'x', SESSION_SECRET: 'direct' })).toBe(
        'rediss://:own@r:6380|direct|none',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has a HEALTHCHECK whose script compiles and asks /healthz', () => {
    const healthcheck = instructions.find((l) => l.startsWith('HEALTHCHECK')) ?? '';
    const exec = /CMD (\[.*\])$/.exec(healthcheck)?.[1] ?? '[]';
    const argv = JSON.parse(exec) as string[];
    expect(argv.slice(0, 2)).toEqual(['node', '-e']);
    expect(argv[2]).toContain('/healthz');
    expect(() => new Script(argv[2] ?? '')).not.toThrow();
  });
});

describe('deploy/kubernetes', () => {
  const dir = 'deploy/kubernetes';
  const files = readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith('.yaml'));
  const manifests = files.filter((f) => f !== 'kustomization.yaml');
  /** Every document of every manifest, with the file it came from. */
  const docs = manifests.flatMap((file) =>
    parseAllDocuments(read(`${dir}/${file}`)).map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      return { file, doc: d.toJS() as Doc };
    }),
  );
  const find = (kind: string, name: string): Doc => {
    const hit = docs.find(
      ({ doc }) => doc.kind === kind && (doc.metadata as { name?: string } | undefined)?.name === name,
    );
    if (!hit) throw new Error(`no ${kind} ${name}`);
    return hit.doc;
  };
  const deployment = new Deployment(find('Deployment', 'chat-app') as never);
  const container = deployment.spec?.template.spec?.containers[0];
  const configMap = new ConfigMap(find('ConfigMap', 'chat-app-config') as never);
  const redis = new StatefulSet(find('StatefulSet', 'chat-redis') as never);

  it('every manifest validates against the Kubernetes / Gateway API schemas', () => {
    expect(docs.length).toBeGreaterThan(8);
    for (const { file, doc } of docs) {
      const key = `${String(doc.apiVersion)} ${String(doc.kind)}`;
      expect(Object.keys(MODELS), `${file}: ${key} has a schema here`).toContain(key);
      const Model = MODELS[key as ModelKey];
      expect(() => new Model(doc as never).validate(), `${file}: ${key}`).not.toThrow();
    }
  });

  it('the schemas do reject a broken manifest', () => {
    const broken = structuredClone(find('Deployment', 'chat-app'));
    const spec = broken.spec as {
      template: { spec: { containers: { ports: { containerPort: unknown }[] }[] } };
    };
    const port = spec.template.spec.containers[0]?.ports[0];
    if (port) port.containerPort = 'http';
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
    const route = structuredClone(find('HTTPRoute', 'chat-app'));
    (route.spec as { rules: { sessionPersistence: { type: string } }[] }).rules[0]!.sessionPersistence.type =
      'Sticky';
    expect(() => new HTTPRoute(route as never).validate()).toThrow();
  });

  it('kustomization lists every manifest, and no Secret that `apply -k` would overwrite', () => {
    const k = parse(read(`${dir}/kustomization.yaml`)) as { resources: string[]; secretGenerator?: unknown };
    expect([...k.resources].sort()).toEqual([...manifests].sort());
    expect(docs.filter(({ doc }) => doc.kind === 'Secret')).toEqual([]);
    expect(k.secretGenerator).toBeUndefined();
    expect(read('deploy/README.md')).toContain('kubectl -n chat create secret generic chat-app-secrets');
  });

  it('probes /readyz for readiness and /healthz for liveness; the HPA owns the replica count', () => {
    expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container?.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(deployment.spec?.replicas).toBeUndefined();
    const hpa = new HorizontalPodAutoscaler(find('HorizontalPodAutoscaler', 'chat-app') as never);
    expect(hpa.spec?.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: 'chat-app' });
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(3);
    expect(hpa.spec?.metrics?.[0]?.resource?.name).toBe('cpu');
    // CPU utilization needs a CPU request to be measured against.
    expect(container?.resources?.requests?.cpu).toBeDefined();
  });

  it('gives the drain time: grace period > preStop sleep + SHUTDOWN_TIMEOUT_MS', () => {
    const graceS = deployment.spec?.template.spec?.terminationGracePeriodSeconds ?? 0;
    const preStop = container?.lifecycle?.preStop?.exec?.command ?? [];
    expect(preStop[0]).toBe('sleep');
    const sleepS = Number(preStop[1]);
    const shutdownMs = Number(configMap.data?.SHUTDOWN_TIMEOUT_MS);
    const drainMs = Number(configMap.data?.DRAIN_WINDOW_MS);
    expect(sleepS).toBeGreaterThan(0);
    expect(shutdownMs).toBeGreaterThan(drainMs);
    expect(graceS * 1000).toBeGreaterThan(sleepS * 1000 + shutdownMs);
  });

  it('spreads the app over nodes and zones, and keeps two through voluntary disruptions', () => {
    const keys = deployment.spec?.template.spec?.topologySpreadConstraints?.map((c) => c.topologyKey);
    expect(keys).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    const pdb = new PodDisruptionBudget(find('PodDisruptionBudget', 'chat-app') as never);
    expect(pdb.spec?.minAvailable).toBe(2);
    expect(
      new PodDisruptionBudget(find('PodDisruptionBudget', 'chat-redis') as never).spec?.maxUnavailable,
    ).toBe(0);
  });

  it('reads its settings from the ConfigMap and the operator-made Secret; trusts one proxy hop', () => {
    const envFrom = container?.envFrom ?? [];
    expect(envFrom.map((e) => e.configMapRef?.name ?? e.secretRef?.name)).toEqual([
      'chat-app-config',
      'chat-app-secrets',
    ]);
    expect(configMap.data?.REDIS_URL).toBe('redis://chat-redis:6379');
    expect(configMap.data?.TRUST_PROXY).toBe('1');
  });

  it('runs Redis with a password from the Secret, AOF, and maxmemory with noeviction', () => {
    const c = redis.spec?.template.spec?.containers[0];
    const args = (c?.args ?? []).join(' ');
    expect(args).toContain('--requirepass $(REDIS_PASSWORD)');
    expect(args).toContain('--appendonly yes');
    expect(args).toMatch(/--maxmemory \d+mb --maxmemory-policy noeviction/);
    expect(c?.env?.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
      name: 'chat-app-secrets',
      key: 'REDIS_PASSWORD',
    });
    expect(JSON.stringify(c?.readinessProbe)).toContain('REDISCLI_AUTH');
    expect(redis.spec?.volumeClaimTemplates?.length).toBe(1);
  });

  it('lets only the app reach Redis', () => {
    const policy = new NetworkPolicy(find('NetworkPolicy', 'chat-redis') as never);
    expect(policy.spec?.podSelector?.matchLabels).toEqual({ 'app.kubernetes.io/name': 'chat-redis' });
    expect(policy.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels).toEqual({
      'app.kubernetes.io/name': 'chat-app',
    });
  });

  it('routes through a Gateway with cookie session persistence to the app Service', () => {
    const route = new HTTPRoute(find('HTTPRoute', 'chat-app') as never);
    const rule = route.spec?.rules?.[0];
    expect(rule?.sessionPersistence?.type).toBe('Cookie');
    expect(rule?.backendRefs?.[0]).toMatchObject({ name: 'chat-app', port: 80 });
    // A request timeout would cap every WebSocket's life.
    expect(rule?.timeouts).toBeUndefined();
    expect(route.spec?.parentRefs?.[0]?.name).toBe('chat');
    const service = new Service(find('Service', 'chat-app') as never);
    expect(service.spec?.ports?.[0]?.port).toBe(80);
  });
});

describe('.ci/run', () => {
  it('is an executable strict bash script that runs npm test and nothing the README does not', () => {
    const file = path.join(ROOT, '.ci/run');
    expect(() => accessSync(file, constants.X_OK)).not.toThrow();
    const text = read('.ci/run');
    expect(text.startsWith('#!/usr/bin/env bash')).toBe(true);
    expect(text).toContain('set -euo pipefail');
    expect(text).not.toMatch(/^\s*(npm ci|apt-get)\b/m);
    expect(text).toMatch(/^npm test\b/m);
  });
});
