// The cluster's watchdog: a small detached process holding a pipe from the process that started the
// cluster. That process writes `+<pid>` when it starts a child and `-<pid>` when the child is gone.
// When the pipe closes (the starter exited, or was SIGKILLed and could not stop anything itself),
// every child still listed gets SIGTERM (Redis flushes its AOF, instances drain), and its whole
// process group SIGKILL after the grace period. Plain Node, no dependencies.
import { createInterface } from 'node:readline';

const GRACE_MS = Number(process.argv[2] ?? 15_000);
const children = new Set();

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const signal = (pid, sig) => {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
};

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const pid = Number(line.slice(1));
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (line.startsWith('+')) children.add(pid);
  else if (line.startsWith('-')) children.delete(pid);
});
lines.on('close', () => {
  if (children.size === 0) process.exit(0);
  for (const pid of children) signal(pid, 'SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  const timer = setInterval(() => {
    const left = [...children].filter(alive);
    if (left.length > 0 && Date.now() < deadline) return;
    for (const pid of left) signal(-pid, 'SIGKILL');
    clearInterval(timer);
    process.exit(0);
  }, 200);
});
