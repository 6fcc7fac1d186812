import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/** One registry per server (not prom-client's global), so several servers can share a process in tests. */
export function createMetrics(instanceId: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ instance: instanceId });
  const ackChildren = new Map<string, { inc(): void }>();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  return {
    registry,
    socketsConnected: new Gauge({
      name: 'chat_sockets_connected',
      help: 'Sockets connected to this instance',
      registers: [registry],
    }),
    onlineUsers: new Gauge({
      name: 'chat_online_users',
      help: 'Distinct signed-in users across the cluster, as last seen here',
      registers: [registry],
    }),
    messagesIn: new Counter({
      name: 'chat_messages_in_total',
      help: 'Messages stored from sockets of this instance',
      registers: [registry],
    }),
    messagesOut: new Counter({
      name: 'chat_messages_out_total',
      help: 'chat-message broadcasts sent from this instance',
      registers: [registry],
    }),
    acks: new Counter({
      name: 'chat_acks_total',
      help: 'Socket acks by event and result code',
      labelNames: ['event', 'code'],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'chat_rate_limited_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['limit'],
      registers: [registry],
    }),
    redisLatency: new Histogram({
      name: 'chat_redis_command_seconds',
      help: 'Latency of the Redis round trips on the chat paths',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    catchUps: new Counter({
      name: 'chat_catchups_total',
      help: 'Joins with `since`, by outcome',
      labelNames: ['recovered'],
      registers: [registry],
    }),
    /** Counts one socket ack; label children are cached (labels() hashes on every call). */
    ack(event: string, code: string): void {
      const key = `${event}|${code}`;
      let child = ackChildren.get(key);
      if (!child) {
        child = this.acks.labels(event, code);
        ackChildren.set(key, child);
      }
      child.inc();
    },
    /** Times one Redis round trip under `op`. */
    async time<T>(op: string, fn: () => Promise<T>): Promise<T> {
      const end = this.redisLatency.startTimer({ op });
      try {
        return await fn();
      } finally {
        end();
      }
    },
  };
}
