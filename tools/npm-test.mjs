// `npm test` on any checkout, a fresh clone included: dependencies (when node_modules is missing or
// older than package-lock.json), the system programs the tiers need (as root on Debian: installed
// without starting their services), then typecheck, lint, build and every tier in TIERS order.
// A tier whose programs are missing and cannot be installed is skipped with one line saying so;
// any failure stops the run with its exit code. Plain Node: it runs before node_modules exists.
import path from 'node:path';
import {
  ensureBuild,
  ensureDependencies,
  ensurePrograms,
  installHint,
  ROOT,
  run,
  say,
  TIERS,
} from './setup.mjs';

const vitest = path.join(ROOT, 'node_modules', '.bin', 'vitest');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

ensureDependencies();
const wanted = [
  ...new Set(TIERS.flatMap((t) => (t.enough !== undefined && process.env[t.enough] ? [] : t.needs))),
];
const missing = new Set(ensurePrograms(wanted));

const step = (command, args) => {
  const status = run(command, args);
  if (status !== 0) process.exit(status);
};
step(npm, ['run', 'typecheck']);
step(npm, ['run', 'lint']);
ensureBuild();

const skipped = [];
for (const tier of TIERS) {
  const lacking =
    tier.enough !== undefined && process.env[tier.enough] ? [] : tier.needs.filter((n) => missing.has(n));
  if (lacking.length > 0) {
    skipped.push(tier.name);
    say(`SKIPPED tier ${tier.name}: missing ${lacking.join(', ')} (install: ${installHint(lacking)})`);
    continue;
  }
  const [command = '', ...args] = tier.command;
  step(command === 'vitest' ? vitest : command === 'npm' ? npm : command, args);
}
if (skipped.length > 0)
  say(`npm test: passed, but skipped tier(s) ${skipped.join(', ')}: see the SKIPPED lines above.`);
