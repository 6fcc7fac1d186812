import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NGINX_TEMPLATE_PATH, renderNginxConf, writeNginxConf } from '../../tools/cluster/nginx-conf.js';
import { findBinary } from '../../tools/cluster/paths.js';

const template = readFileSync(NGINX_TEMPLATE_PATH, 'utf8');
const runDir = mkdtempSync(path.join(os.tmpdir(), 'nginx-render-'));
const opts = {
  listen: { host: '127.0.0.1', port: 18080 },
  upstreams: [
    { host: '127.0.0.1', port: 13001 },
    { host: '127.0.0.1', port: 13002 },
    { host: '127.0.0.1', port: 13003 },
  ],
  runDir,
};

afterAll(() => rmSync(runDir, { recursive: true, force: true }));

/** Directive lines only: comments stripped, whitespace collapsed. */
function directives(conf: string): string[] {
  return conf
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim().replace(/\s+/g, ' '))
    .filter((l) => l !== '');
}

describe('the production nginx.conf', () => {
  const d = directives(template);

  it('is sticky, upgrades WebSockets and outlasts the Socket.IO heartbeat', () => {
    expect(d).toContain('hash $remote_addr;');
    // `consistent` keys its ring by server name: one name resolving to N replicas is not sticky.
    expect(d.some((l) => l.startsWith('hash ') && l.includes('consistent'))).toBe(false);
    expect(d).toContain('server app:3000 max_fails=3 fail_timeout=2s;');
    expect(d).toContain('map $http_upgrade $connection_upgrade {');
    expect(d).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(d).toContain('proxy_set_header Connection $connection_upgrade;');
    expect(d).toContain('proxy_set_header Host $http_host;');
    expect(d).toContain('proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;');
    expect(d).toContain('proxy_set_header X-Forwarded-Proto $scheme;');
    expect(d).toContain('proxy_read_timeout 75s;');
    expect(d).toContain('proxy_send_timeout 75s;');
    expect(d).toContain('client_max_body_size 64k;');
    expect(d).toContain('listen 80;');
  });

  it('retries failed and draining instances but never a non-idempotent request', () => {
    expect(d).toContain('proxy_next_upstream error timeout http_502 http_503;');
    expect(template).not.toMatch(/^[^#]*non_idempotent/m);
  });

  it('has no daemon directive (the launchers pass -g "daemon off;")', () => {
    expect(d.some((l) => l.startsWith('daemon '))).toBe(false);
  });
});

describe('renderNginxConf', () => {
  const rendered = renderNginxConf(template, opts);
  const d = directives(rendered);

  it('points the upstream at every local instance, with the template’s server parameters', () => {
    for (const u of opts.upstreams) {
      expect(d).toContain(`server ${u.host}:${u.port} max_fails=3 fail_timeout=2s;`);
    }
    expect(rendered).not.toMatch(/^\s*server app:3000/m);
  });

  it('listens on the given address only', () => {
    expect(d).toContain('listen 127.0.0.1:18080;');
    expect(d).not.toContain('listen 80;');
  });

  it('moves pid, logs and temp files into runDir', () => {
    expect(d).toContain(`pid "${path.join(runDir, 'nginx.pid')}";`);
    expect(d).toContain(`error_log "${path.join(runDir, 'logs/error.log')}" warn;`);
    expect(d).toContain(`access_log "${path.join(runDir, 'logs/access.log')}" chat;`);
    for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
      expect(d).toContain(`${kind}_temp_path "${path.join(runDir, 'temp', kind)}";`);
    }
    expect(rendered).not.toContain('/var/log/nginx');
  });

  it('changes nothing outside the marked regions', () => {
    const outside = (conf: string): string[] => {
      const lines = conf.split('\n');
      const keep: string[] = [];
      let inRegion = false;
      for (const line of lines) {
        if (/# @render \S+ begin/.test(line)) inRegion = true;
        if (!inRegion) keep.push(line);
        if (/# @render \S+ end/.test(line)) inRegion = false;
      }
      return keep;
    };
    expect(outside(rendered)).toEqual(outside(template));
    for (const kept of [
      'hash $remote_addr;',
      'proxy_set_header Connection $connection_upgrade;',
      'proxy_read_timeout 75s;',
      'proxy_send_timeout 75s;',
      'proxy_next_upstream error timeout http_502 http_503;',
    ]) {
      expect(d).toContain(kept);
    }
  });

  it('fails loudly when a marker is missing or an option is invalid', () => {
    const broken = template.replace('# @render listen end', '');
    expect(() => renderNginxConf(broken, opts)).toThrow(/listen/);
    expect(() => renderNginxConf(template, { ...opts, upstreams: [] })).toThrow(/upstream/);
    expect(() => renderNginxConf(template, { ...opts, runDir: 'relative' })).toThrow(/absolute/);
    expect(() => renderNginxConf(template, { ...opts, listen: { host: '127.0.0.1', port: 0 } })).toThrow(
      /port/,
    );
  });

  const nginx = findBinary('nginx');
  it.skipIf(nginx === undefined)('is accepted by `nginx -t`', () => {
    const confPath = writeNginxConf(opts);
    const result = spawnSync(nginx ?? 'nginx', ['-t', '-c', confPath, '-p', runDir], { encoding: 'utf8' });
    expect(result.stderr).toMatch(/test is successful/);
    expect(result.status).toBe(0);
  });
});
