import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NGINX_TEMPLATE_PATH } from './paths.js';

export { NGINX_TEMPLATE_PATH };

/** Host and port of a listen socket or an upstream server. */
export interface HostPort {
  host: string;
  port: number;
}

export interface NginxRenderOptions {
  listen: HostPort;
  upstreams: HostPort[];
  /** Absolute directory for pid, logs and temp files (the `-p` prefix of the rendered config). */
  runDir: string;
}

const REGIONS = ['runtime-paths', 'http-paths', 'upstream-servers', 'listen'] as const;
type Region = (typeof REGIONS)[number];

const TEMP_PATHS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'] as const;

/**
 * Renders the production nginx.conf for a local run: only the regions between
 * `# @render <name> begin` and `# @render <name> end` change (upstream servers, listen, and
 * pid/log/temp paths, which move into runDir so several nginx can run side by side without root).
 * Throws when a region is missing or repeated, so a template edit cannot silently break rendering.
 */
export function renderNginxConf(template: string, opts: NginxRenderOptions): string {
  if (opts.upstreams.length === 0) throw new Error('renderNginxConf: at least one upstream is required');
  if (!path.isAbsolute(opts.runDir))
    throw new Error(`renderNginxConf: runDir must be absolute: ${opts.runDir}`);
  let out = template;
  for (const region of REGIONS) {
    out = replaceRegion(out, region, (body, indent) => renderRegion(region, body, indent, opts));
  }
  return out;
}

/** Renders the top-level nginx.conf into `<runDir>/nginx.conf`, creating the directories it names. */
export function writeNginxConf(opts: NginxRenderOptions & { templatePath?: string }): string {
  const template = readFileSync(opts.templatePath ?? NGINX_TEMPLATE_PATH, 'utf8');
  mkdirSync(path.join(opts.runDir, 'logs'), { recursive: true });
  mkdirSync(path.join(opts.runDir, 'temp'), { recursive: true });
  // Workers run as an unprivileged user when nginx starts as root: they must reach the temp dirs.
  chmodSync(opts.runDir, 0o755);
  const confPath = path.join(opts.runDir, 'nginx.conf');
  writeFileSync(confPath, renderNginxConf(template, opts));
  return confPath;
}

function replaceRegion(
  text: string,
  name: Region,
  render: (body: string[], indent: string) => string[],
): string {
  const lines = text.split('\n');
  const begins = findMarkers(lines, name, 'begin');
  const ends = findMarkers(lines, name, 'end');
  const begin = begins[0];
  const end = ends[0];
  if (begins.length !== 1 || ends.length !== 1 || begin === undefined || end === undefined || end < begin) {
    throw new Error(`nginx template: expected exactly one "# @render ${name} begin/end" pair`);
  }
  const indent = /^\s*/.exec(lines[begin] ?? '')?.[0] ?? '';
  const body = lines.slice(begin + 1, end);
  const rendered = render(body, indent).map((line) => indent + line);
  return [...lines.slice(0, begin + 1), ...rendered, ...lines.slice(end)].join('\n');
}

function findMarkers(lines: string[], name: Region, kind: 'begin' | 'end'): number[] {
  const marker = `# @render ${name} ${kind}`;
  return lines.flatMap((line, i) => (line.trim() === marker ? [i] : []));
}

function renderRegion(region: Region, body: string[], indent: string, opts: NginxRenderOptions): string[] {
  switch (region) {
    case 'runtime-paths':
    case 'http-paths': {
      const lines = body.map((line) =>
        rewritePath(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart(), opts.runDir),
      );
      if (region === 'http-paths') {
        for (const kind of TEMP_PATHS) {
          lines.push(`${kind}_temp_path ${quote(path.join(opts.runDir, 'temp', kind))};`);
        }
      }
      return lines;
    }
    case 'upstream-servers':
      return opts.upstreams.map((u) => `server ${hostPort(u)}${serverParams(body)};`);
    case 'listen':
      return [`listen ${hostPort(opts.listen)};`];
  }
}

/** The template's server parameters (max_fails, fail_timeout…), minus `resolve`: local upstreams are IPs. */
function serverParams(body: string[]): string {
  const first = body.map((l) => /^\s*server\s+\S+((?:\s+[^;\s]+)*)\s*;/.exec(l)).find((m) => m !== null);
  const params = (first?.[1] ?? '').split(/\s+/).filter((p) => p !== '' && p !== 'resolve');
  return params.map((p) => ` ${p}`).join('');
}

const PATH_FILES: Record<string, string> = {
  pid: 'nginx.pid',
  error_log: 'logs/error.log',
  access_log: 'logs/access.log',
};

function rewritePath(line: string, runDir: string): string {
  const m = /^(\s*)(pid|error_log|access_log)\s+([^;\s]+)(.*)$/.exec(line);
  const file = m?.[2] === undefined ? undefined : PATH_FILES[m[2]];
  if (m === null || file === undefined || m[3] === 'off') return line;
  return `${m[1] ?? ''}${m[2]} ${quote(path.join(runDir, file))}${m[4] ?? ''}`;
}

function hostPort({ host, port }: HostPort): string {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port: ${port}`);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
