// `npm start`: install dependencies and build when needed, then run the local cluster
// (dist/cli/cluster.js) with the same arguments, forwarding signals and its exit code.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const outputs = ['dist/main.js', 'dist/cli/cluster.js'].map((f) => path.join(root, f));

/** Runs a command in the repo root, inheriting stdio; exits with its status when it fails. */
function run(command, args) {
  console.error(`> ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** Newest modification time (ms) of the files under dir, recursively. */
function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

function needsBuild() {
  if (!outputs.every((f) => existsSync(f))) return true;
  const builtAt = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const inputs = Math.max(
    newestMtime(path.join(root, 'src')),
    statSync(path.join(root, 'tsconfig.json')).mtimeMs,
    statSync(path.join(root, 'package.json')).mtimeMs,
  );
  return inputs > builtAt;
}

if (!existsSync(path.join(root, 'node_modules'))) run(npm, ['ci']);
if (needsBuild()) run(npm, ['run', 'build']);

const child = spawn(process.execPath, [outputs[1], ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});

// The launcher shares our terminal, so a Ctrl-C reaches it directly as well; it ignores the
// duplicate. Forwarding still matters when only this process is signalled (kill, a supervisor).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}

child.on('error', (err) => {
  console.error(`cannot start the cluster: ${err.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal !== null) {
    // Die the same way, so callers see the signal (after removing our handler for it).
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    return;
  }
  process.exit(code ?? 1);
});
