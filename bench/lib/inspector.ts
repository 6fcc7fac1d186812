import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

/**
 * A minimal Chrome DevTools Protocol client for instances started with `--inspect=127.0.0.1:0`
 * (allowed in NODE_OPTIONS, unlike --cpu-prof): forced GC before memory readings, and CPU profiles
 * of just the load window.
 */
export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString()) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
    ws.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('inspector closed'));
      this.pending.clear();
    });
  }

  static connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1024 * 1024 * 1024 });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new Inspector(ws)));
      ws.once('error', reject);
    });
  }

  send<T = unknown>(method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Full, forced GC. */
  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
  }

  /** V8 heap in use (after a GC: what is reachable), bytes. */
  async heapUsed(): Promise<number> {
    const r = await this.send<{ usedSize: number }>('Runtime.getHeapUsage');
    return r.usedSize;
  }

  async startProfiling(intervalUs = 1000): Promise<void> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.send('Profiler.start');
  }

  /** Stops profiling; resolves to the .cpuprofile JSON. */
  async stopProfiling(): Promise<string> {
    const r = await this.send<{ profile: unknown }>('Profiler.stop', {}, 120_000);
    await this.send('Profiler.disable');
    return JSON.stringify(r.profile);
  }

  close(): void {
    this.ws.close();
  }
}

/** The inspector URL an instance printed to its log ("Debugger listening on ws://…"); the last one (logs append). */
export function inspectorUrl(logFile: string): string | undefined {
  try {
    return [...readFileSync(logFile, 'utf8').matchAll(/Debugger listening on (ws:\/\/\S+)/g)].at(-1)?.[1];
  } catch {
    return undefined;
  }
}
