import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';

/**
 * No Docker engine or Kubernetes runs here, so these checks keep the deployment files honest: every
 * file they reference exists, and the settings that make a cluster work (AOF, healthchecks, probes,
 * grace periods, stickiness, timeouts) are present. YAML is read line by line (indentation blocks),
 * which the files are written to allow: block style, two-space indents, no anchors.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(path.join(ROOT, file), 'utf8');

/** Lines under the first `key:` (at any indent, or only at the top with `top`), up to the next line indented as much or less. */
function block(text: string, key: string, top = false): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => new RegExp(top ? `^${key}:` : `^\\s*(- )?${key}:`).test(l));
  if (start < 0) throw new Error(`no "${key}:" found`);
  const head = lines[start] ?? '';
  const indent = head.search(/\S/) + (head.trimStart().startsWith('- ') ? 2 : 0);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    if (line.search(/\S/) <= indent) break;
    body.push(line);
  }
  return body;
}

/** `key: value` inside some lines, unquoted. */
function value(lines: string[], key: string): string | undefined {
  for (const line of lines) {
    const m = new RegExp(`^\\s*(?:- )?${key}:\\s*(.*?)\\s*$`).exec(line);
    if (m?.[1] !== undefined && m[1] !== '') return m[1].replace(/^["']|["']$/g, '');
  }
  return undefined;
}

/** `.dockerignore` patterns, for a simple "is this path excluded?" check (top-level names only). */
function dockerIgnored(): string[] {
  return read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('docker-compose.yml', () => {
  const compose = read('docker-compose.yml');
  const services = block(compose, 'services', true);
  const serviceNames = services.filter((l) => /^ {2}\S[^:]*:\s*$/.test(l)).map((l) => l.trim().slice(0, -1));
  const redis = block(services.join('\n'), 'redis');
  const app = block(services.join('\n'), 'app');
  const nginx = block(services.join('\n'), 'nginx');

  it('is block-style YAML with two-space indents and no tabs', () => {
    expect(compose).not.toContain('\t');
    expect(serviceNames).toEqual(['redis', 'app', 'nginx']);
  });

  it('runs redis with AOF, a healthcheck and a named volume', () => {
    expect(value(redis, 'image')).toBe('redis:7-alpine');
    expect(value(redis, 'command')).toMatch(/["']--appendonly["'], ["']yes["']/);
    expect(value(block(redis.join('\n'), 'healthcheck'), 'test')).toMatch(/redis-cli["'], ["']ping["']/);
    const volume = block(redis.join('\n'), 'volumes')[0]?.trim().replace(/^- /, '').split(':')[0];
    expect(volume).toBeDefined();
    expect(block(compose, 'volumes', true).map((l) => l.trim())).toContain(`${volume}:`);
  });

  it('builds app from deploy/Dockerfile, with the cluster settings and no fixed host port', () => {
    const build = block(app.join('\n'), 'build');
    expect(value(build, 'context')).toBe('.');
    const dockerfile = value(build, 'dockerfile') ?? '';
    expect(dockerfile).toBe('deploy/Dockerfile');
    expect(existsSync(path.join(ROOT, dockerfile))).toBe(true);
    const env = block(app.join('\n'), 'environment');
    expect(value(env, 'REDIS_URL')).toBe('redis://redis:6379');
    expect(value(env, 'NODE_ENV')).toBe('production');
    expect(value(env, 'SESSION_SECRET')).toMatch(/^\$\{SESSION_SECRET:\?/);
    expect(value(env, 'TRUST_PROXY')).toMatch(/^(1|loopback|uniquelocal)$/);
    expect(app.some((l) => /^\s*ports:/.test(l))).toBe(false);
    const dependsOn = block(app.join('\n'), 'depends_on');
    expect(value(block(dependsOn.join('\n'), 'redis'), 'condition')).toBe('service_healthy');
  });

  it('puts nginx with the top-level nginx.conf on port 8080', () => {
    expect(value(nginx, 'image')).toBe('nginx:1.27-alpine');
    const mounts = block(nginx.join('\n'), 'volumes').map((l) => l.trim().replace(/^- /, ''));
    expect(mounts).toContain('./nginx.conf:/etc/nginx/nginx.conf:ro');
    expect(block(nginx.join('\n'), 'ports').map((l) => l.trim().replace(/["']/g, ''))).toContain('- 8080:80');
    expect(block(nginx.join('\n'), 'depends_on').some((l) => l.trim() === 'app:')).toBe(true);
  });

  it('references only files that exist', () => {
    const sources = [...compose.matchAll(/^\s*- (\.\/[^:\s]+):/gm)].map((m) => m[1] ?? '');
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(existsSync(path.join(ROOT, source)), source).toBe(true);
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

  it('builds in one stage and runs as node in a slim one', () => {
    expect(instructions.filter((l) => l.startsWith('FROM node:20-bookworm-slim'))).toHaveLength(2);
    for (const step of ['npm ci', 'npm run build', 'npm prune --omit=dev']) {
      expect(
        instructions.some((l) => l.startsWith('RUN') && l.includes(step)),
        step,
      ).toBe(true);
    }
    const lastFrom = instructions.map((l) => l.startsWith('FROM')).lastIndexOf(true);
    const runtime = instructions.slice(lastFrom);
    for (const dir of ['dist', 'node_modules', 'public', 'package.json']) {
      expect(
        runtime.some((l) => l.startsWith('COPY') && l.includes(dir)),
        dir,
      ).toBe(true);
    }
    expect(runtime).toContain('USER node');
    expect(runtime.join('\n')).toMatch(/CMD \["node", ("--[a-z-]+=\d+", )*"dist\/main\.js"\]/);
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
  const deployment = read(`${dir}/deployment.yaml`);
  const container = block(deployment, 'containers');

  it('lists existing files in kustomization.yaml', () => {
    const resources = block(read(`${dir}/kustomization.yaml`), 'resources').map((l) =>
      l.trim().replace(/^- /, ''),
    );
    expect(resources.length).toBeGreaterThan(0);
    for (const r of resources) expect(files, r).toContain(r);
  });

  it('probes /readyz for readiness and /healthz for liveness', () => {
    expect(value(block(container.join('\n'), 'readinessProbe'), 'path')).toBe('/readyz');
    expect(value(block(container.join('\n'), 'livenessProbe'), 'path')).toBe('/healthz');
    expect(value(block(deployment, 'spec'), 'replicas')).toBe('3');
  });

  it('gives the drain time: grace period > preStop sleep + SHUTDOWN_TIMEOUT_MS', () => {
    const graceS = Number(value(deployment.split('\n'), 'terminationGracePeriodSeconds'));
    const preStop = block(container.join('\n'), 'preStop').join(' ');
    const sleepS = Number(/["']sleep["'], ["'](\d+)["']/.exec(preStop)?.[1]);
    const shutdownMs = Number(value(read(`${dir}/configmap.yaml`).split('\n'), 'SHUTDOWN_TIMEOUT_MS'));
    expect(sleepS).toBeGreaterThan(0);
    expect(shutdownMs).toBeGreaterThan(0);
    expect(graceS * 1000).toBeGreaterThan(sleepS * 1000 + shutdownMs);
    expect(value(block(container.join('\n'), 'resources'), 'memory')).toBeDefined();
  });

  it('reads its settings from the ConfigMap and Secret defined here', () => {
    const envFrom = block(container.join('\n'), 'envFrom');
    const configMap = value(block(envFrom.join('\n'), 'configMapRef'), 'name');
    const secret = value(block(envFrom.join('\n'), 'secretRef'), 'name');
    const configMapFile = read(`${dir}/configmap.yaml`);
    const secretFile = read(`${dir}/secret.yaml`);
    expect(value(block(configMapFile, 'metadata'), 'name')).toBe(configMap);
    expect(value(block(secretFile, 'metadata'), 'name')).toBe(secret);
    expect(value(block(secretFile, 'stringData'), 'SESSION_SECRET')).toBeDefined();
    expect(value(block(secretFile, 'stringData'), 'METRICS_TOKEN')).toBeDefined();
    expect(value(block(configMapFile, 'data'), 'REDIS_URL')).toMatch(/^rediss?:\/\//);
  });

  it('has a sticky ingress with timeouts above the Socket.IO heartbeat', () => {
    const annotations = block(read(`${dir}/ingress.yaml`), 'annotations');
    const sticky =
      value(annotations, 'nginx.ingress.kubernetes.io/affinity') === 'cookie' ||
      value(annotations, 'nginx.ingress.kubernetes.io/upstream-hash-by') !== undefined;
    expect(sticky).toBe(true);
    expect(Number(value(annotations, 'nginx.ingress.kubernetes.io/proxy-read-timeout'))).toBeGreaterThan(45);
    expect(Number(value(annotations, 'nginx.ingress.kubernetes.io/proxy-send-timeout'))).toBeGreaterThan(45);
  });

  it('persists Redis with AOF on a volume claim', () => {
    const redis = read(`${dir}/redis.yaml`);
    expect(redis).toMatch(/["']--appendonly["'], ["']yes["']/);
    expect(block(redis, 'volumeClaimTemplates').length).toBeGreaterThan(0);
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
