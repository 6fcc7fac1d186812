import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';

/** Fewer replicas than REDIS_ACK_REPLICAS confirmed a write in time: the client retries. */
export class ReplicaAckError extends AppError {
  constructor(
    readonly wanted: number,
    readonly got: number,
  ) {
    super('unavailable', 'The message could not be made safe in time; send it again.');
    this.name = 'ReplicaAckError';
  }
}

/** One primary's connection, as the client routes a key to it. */
export interface AckRoute {
  /** Names the route (a cluster node's address; `primary` under Sentinel or standalone). */
  id: string;
  /** Sends a raw command on that connection. */
  send(args: string[]): Promise<unknown>;
}

export interface ReplicaAckOptions {
  /** Replicas that must hold a write (REDIS_ACK_REPLICAS, resolved), ≥ 1. */
  replicas: number;
  /** WAIT's timeout (REDIS_ACK_TIMEOUT_MS). */
  timeoutMs: number;
  /** How long a primary without replicas refuses before it acks unconfirmed (REDIS_ACK_GRACE_MS; 0: never). */
  graceMs: number;
  /** How often a primary acking unconfirmed is asked whether a replica is back, ms. */
  recheckMs?: number;
  log: Logger;
  now?: () => number;
}

/** What one primary (by replication id) has shown since its replicas went missing. */
interface Lacking {
  replid: string;
  since: number;
  checkedAt: number;
  unconfirmed: boolean;
}

const field = (info: string, name: string) => new RegExp(`${name}:(\\S+)`).exec(info)?.[1];

/**
 * The confirmation step of a durable write (src/redis/clients.ts DurableWrites): `WAIT <replicas>
 * <timeoutMs>` on the connection that made the write. When fewer replicas confirm in time, INFO
 * replication on that primary tells the two cases apart:
 * - it still has enough replicas connected (one lags or hangs): refuse (ReplicaAckError, code
 *   `unavailable`; the client retries with its clientId);
 * - it has fewer connected: either its replica was just promoted in a handover (SENTINEL FAILOVER:
 *   this primary is about to be demoted and its writes discarded) or the replica is gone (killed,
 *   or promoted away when this primary was the one that failed). Refuse for `graceMs` from the
 *   first such answer (longer than the clients take to follow a handover), then ack unconfirmed:
 *   a primary with no replica cannot be failed over, so what it acks stays, and the chat keeps
 *   working after a failover left the new primary alone. Every `recheckMs` it is asked again, and
 *   WAIT is back as soon as a replica is.
 * Per primary (by `master_replid`, new on every promotion), in process.
 */
export class ReplicaAck {
  private readonly lacking = new Map<string, Lacking>();
  /** Per route, the WAIT about to be sent: every confirmation asked in the same tick shares it. */
  private readonly batches = new Map<string, Promise<void>>();
  private readonly wait: string[];
  private readonly now: () => number;
  private readonly recheckMs: number;

  constructor(private readonly opts: ReplicaAckOptions) {
    this.wait = ['WAIT', String(opts.replicas), String(opts.timeoutMs)];
    this.now = opts.now ?? Date.now;
    this.recheckMs = opts.recheckMs ?? 1000;
  }

  /**
   * Resolves once `replicas` replicas hold every write made so far on `route`'s connection, or
   * when the primary has been without them for longer than the grace; rejects with
   * ReplicaAckError otherwise. The confirmations asked within one event-loop turn share one WAIT
   * (each caller's write was answered before it asked, so a WAIT sent after covers them all).
   */
  confirm(route: AckRoute): Promise<void> {
    let batch = this.batches.get(route.id);
    if (batch === undefined) {
      batch = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        // Confirmations asked from now on made their writes after this WAIT may be sent: next batch.
        this.batches.delete(route.id);
        return this.confirmNow(route);
      });
      this.batches.set(route.id, batch);
    }
    return batch;
  }

  private async confirmNow(route: AckRoute): Promise<void> {
    const known = this.lacking.get(route.id);
    if (known?.unconfirmed) {
      if (this.now() - known.checkedAt < this.recheckMs) return;
      if (!(await this.stillLacking(route, known))) this.lacking.delete(route.id);
      else return;
    }
    const got = Number(await route.send(this.wait));
    if (got >= this.opts.replicas) {
      this.lacking.delete(route.id);
      return;
    }
    const info = String(await route.send(['INFO', 'replication']));
    const connected = Number(field(info, 'connected_slaves') ?? 0);
    const replid = field(info, 'master_replid') ?? '';
    if (connected >= this.opts.replicas) throw new ReplicaAckError(this.opts.replicas, got);
    const now = this.now();
    let state = this.lacking.get(route.id);
    if (state === undefined || state.replid !== replid) {
      state = { replid, since: now, checkedAt: now, unconfirmed: false };
      this.lacking.set(route.id, state);
    }
    state.checkedAt = now;
    if (this.opts.graceMs === 0 || now - state.since < this.opts.graceMs) {
      throw new ReplicaAckError(this.opts.replicas, got);
    }
    state.unconfirmed = true;
    this.opts.log.warn(
      { route: route.id, replicas: connected, wanted: this.opts.replicas },
      'a Redis primary has had too few replicas for REDIS_ACK_GRACE_MS: acking messages unconfirmed until one is back',
    );
  }

  /** Asks the primary again; true while it still has too few replicas (same primary). */
  private async stillLacking(route: AckRoute, state: Lacking): Promise<boolean> {
    const info = String(await route.send(['INFO', 'replication']));
    state.checkedAt = this.now();
    const same = (field(info, 'master_replid') ?? '') === state.replid;
    const lacking = same && Number(field(info, 'connected_slaves') ?? 0) < this.opts.replicas;
    if (!lacking)
      this.opts.log.info({ route: route.id }, 'a Redis primary has replicas again: confirming acks');
    return lacking;
  }
}
