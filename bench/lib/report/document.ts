/** The whole markdown report of a run: header (when, machine, candidate), targets, scenario sections, errors. */
import path from 'node:path';
import type { BenchOptions, Scenario } from '../options.js';
import type { machineInfo } from '../procfs.js';
import { fanoutTable, historyTable, idleTable, localityTable, loginTable, scaleTable } from './tables.js';
import { targetsTable, type ScenarioResults, type Target } from './targets.js';
import { presenceTable } from '../../scenarios/presence.js';
import { spreadTable } from '../../scenarios/spread.js';

export type Machine = ReturnType<typeof machineInfo> & { node: string; redis: string };

export interface ReportInput {
  opts: BenchOptions;
  results: ScenarioResults;
  targets: readonly Target[];
  errors: readonly { scenario: Scenario; error: string }[];
  machine: Machine;
  finishedAt: Date;
  /** Wall time of the run, seconds. */
  durationS: number;
  /** The command line after `node run.ts`. */
  argv: readonly string[];
  /** Paths in the header are shown relative to this directory. */
  root: string;
}

/** Markdown, sections separated by a blank line (printed and written to latest.md as is). */
export function reportMarkdown(r: ReportInput): string {
  const { opts, results, machine } = r;
  const sections = [
    results.fanout && fanoutTable(results.fanout),
    results.idle && idleTable(results.idle),
    results.login && loginTable(results.login),
    results.locality && localityTable(results.locality),
    results.history && historyTable(results.history),
    results.scale && scaleTable(results.scale),
    results.presence && presenceTable(results.presence),
    results.spread && spreadTable(results.spread),
  ].filter((s): s is string => typeof s === 'string');
  const header = [
    `## Bench results${opts.smoke ? ' (smoke: tiny sizes, figures meaningless)' : ''}`,
    '',
    `${r.finishedAt.toISOString()} · ${r.durationS} s · \`${['npm run bench --', ...r.argv].join(' ')}\``,
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, Linux ${machine.kernel}; Node ${machine.node}; redis-server ${machine.redis}. ` +
      'Everything on this one machine: redis-server, the instances, and 2 load-generator processes.',
    ...(opts.productEntry || Object.keys(opts.productEnv).length > 0
      ? [
          '',
          `**Candidate, not dist/main.js:** product = ${opts.productEntry ? path.relative(r.root, opts.productEntry) : 'dist/main.js'}` +
            `${
              Object.keys(opts.productEnv).length > 0
                ? ` with ${Object.entries(opts.productEnv)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(' ')}`
                : ''
            }.`,
        ]
      : []),
  ].join('\n');
  return [
    header,
    r.targets.length > 0 ? targetsTable(r.targets, { smoke: opts.smoke }) : '',
    ...sections,
    r.errors.length > 0
      ? `### Errors\n\n${r.errors.map((e) => `- ${e.scenario}: ${e.error.split('\n')[0]}`).join('\n')}`
      : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}
