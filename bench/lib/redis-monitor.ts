import net from 'node:net';

/**
 * Counts the commands clients send to Redis (round trips), as opposed to INFO commandstats, which
 * also counts every command a Lua script runs. MONITOR shows a script's inner commands as coming
 * from "lua": those are skipped. Costly for Redis: only for a short, unmeasured window.
 */
export class RedisMonitor {
  /** client address → command → calls. */
  private readonly counts = new Map<string, Map<string, number>>();
  private buffer = '';
  private ok = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.feed(chunk));
    socket.on('error', () => undefined);
  }

  static async start(port: number, host = '127.0.0.1'): Promise<RedisMonitor> {
    const socket = net.connect({ port, host });
    const monitor = new RedisMonitor(socket);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('MONITOR did not answer')), 5000);
      socket.once('error', reject);
      socket.once('connect', () => socket.write('MONITOR\r\n'));
      const check = () => {
        if (!monitor.ok) return;
        clearTimeout(timer);
        socket.off('data', check);
        resolve();
      };
      socket.on('data', check);
    });
    return monitor;
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\r\n');
    while (nl >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 2);
      if (line === '+OK') this.ok = true;
      else this.line(line);
      nl = this.buffer.indexOf('\r\n');
    }
  }

  /** `+1700000000.123456 [0 127.0.0.1:54321] "evalsha" "…"` */
  private line(line: string): void {
    const open = line.indexOf('[');
    const close = line.indexOf(']', open);
    if (open < 0 || close < 0) return;
    const addr = line.slice(open + 1, close).split(' ')[1] ?? '?';
    if (addr === 'lua') return;
    const quote = line.indexOf('"', close);
    const end = line.indexOf('"', quote + 1);
    if (quote < 0 || end < 0) return;
    const cmd = line.slice(quote + 1, end).toLowerCase();
    const perClient = this.counts.get(addr) ?? new Map<string, number>();
    perClient.set(cmd, (perClient.get(cmd) ?? 0) + 1);
    this.counts.set(addr, perClient);
  }

  stop(): Map<string, Map<string, number>> {
    this.socket.destroy();
    return this.counts;
  }
}

/** CLIENT LIST → address → role: the product names its clients `<instance>-data|pub|sub`. */
export function clientRoles(clientList: string): Map<string, string> {
  const roles = new Map<string, string>();
  for (const line of clientList.split('\n')) {
    const addr = /(?:^| )addr=(\S+)/.exec(line)?.[1];
    if (!addr) continue;
    const name = /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '';
    const role = /-(data|pub|sub)$/.exec(name)?.[1] ?? (name === '' ? 'unnamed' : name);
    roles.set(addr, role);
  }
  return roles;
}
