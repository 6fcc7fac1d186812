/**
 * Summarises V8 .cpuprofile files (from `npm run bench -- --cpu-prof`, or `node --cpu-prof`):
 * self time by function and by package/file, and the time under chosen functions.
 *
 *   node --import tsx bench/profile.ts <file-or-directory>... [--top N]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const out = (line: string) => void process.stdout.write(`${line}\n`);

function files(args: string[]): string[] {
  return args.flatMap((arg) => {
    if (statSync(arg).isDirectory()) {
      return readdirSync(arg, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => path.join(arg, f));
    }
    return [arg];
  });
}

/** node_modules/<pkg>, src/<file>, node:<internal>, or a V8 pseudo-frame. */
function owner(url: string, name: string): string {
  if (url === '') return `(${name || 'native'})`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  const src = /\/(dist|src|bench)\/(.+)$/.exec(url);
  if (src?.[2]) return `app:${src[2]}`;
  if (url.startsWith('node:')) return url;
  return path.basename(url);
}

function label(f: CallFrame): string {
  const where = f.url === '' ? '' : ` ${owner(f.url, f.functionName)}:${f.lineNumber + 1}`;
  return `${f.functionName || '(anonymous)'}${where}`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '30' } },
  });
  const top = Number(values.top);
  const list = files(positionals);
  if (list.length === 0) throw new Error('usage: bench/profile.ts <file-or-dir>...');
  const selfByFn = new Map<string, number>();
  const selfByOwner = new Map<string, number>();
  const totalByFn = new Map<string, number>();
  let total = 0;
  for (const file of list) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const selfUs = new Map<number, number>();
    profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    for (const [id, us] of selfUs) {
      const node = byId.get(id);
      if (!node) continue;
      total += us;
      const fn = label(node.callFrame);
      selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + us);
      const o = owner(node.callFrame.url, node.callFrame.functionName);
      selfByOwner.set(o, (selfByOwner.get(o) ?? 0) + us);
      // Inclusive: every distinct function on the stack gets the sample once.
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const n = byId.get(cur);
        if (!n) break;
        const name = label(n.callFrame);
        if (seen.has(name)) continue;
        seen.add(name);
        totalByFn.set(name, (totalByFn.get(name) ?? 0) + us);
      }
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const print = (title: string, map: Map<string, number>, n: number) => {
    out(`\n${title}`);
    for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n))
      out(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  };
  out(`${list.length} profile(s), ${(total / 1e6).toFixed(1)} s of samples`);
  print('Self time by package / file', selfByOwner, 25);
  print('Self time by function', selfByFn, top);
  print('Total (inclusive) time by function', totalByFn, top);
}

main();
