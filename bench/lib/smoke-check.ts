/** What a --smoke run requires of each scenario: that it produced figures. */
import type { Scenario } from './options.js';
import type { ScenarioResults } from './report/targets.js';

/** Returns what is missing from scenario `name`'s results, or undefined when it produced figures. */
export function missing(name: Scenario, r: ScenarioResults): string | undefined {
  const finite = (...xs: (number | undefined)[]) => xs.every((v) => v !== undefined && Number.isFinite(v));
  switch (name) {
    case 'fanout': {
      const f = r.fanout;
      const ok =
        f &&
        [f.product, f.baseline, f.matched].every(
          (run) =>
            run.steps.length > 0 &&
            run.steps.every((s) => s.received > 0 && finite(s.appCpuMsPer1k, s.latency.p99)),
        );
      return ok ? undefined : 'fan-out delivered nothing';
    }
    case 'idle': {
      const i = r.idle;
      return i &&
        i.product.connected > 0 &&
        i.baseline.connected > 0 &&
        finite(i.product.rssPerConnKb, i.baseline.rssPerConnKb)
        ? undefined
        : 'no idle sockets';
    }
    case 'login': {
      const l = r.login;
      return l && l.failures < l.logins && finite(l.latency.p99, l.lagStormP99RawMs)
        ? undefined
        : 'no login figures';
    }
    case 'locality': {
      const l = r.locality;
      return l &&
        l.sharded.step.received > 0 &&
        l.classic.step.received > 0 &&
        finite(l.sharded.nonMemberCpuMsPer1k, l.classic.nonMemberCpuMsPer1k)
        ? undefined
        : 'locality delivered nothing';
    }
    case 'history': {
      const h = r.history;
      return h && h.product.toHistory.count > 0 && h.baseline.toAck.count > 0 ? undefined : 'no join figures';
    }
    case 'scale': {
      const s = r.scale;
      if (!s || s.rows.length < 2 || !s.rows.every((row) => row.connectBytes > 0 && row.creationBytes > 0))
        return 'no scale figures';
      if (s.connections.length < 2 || !s.connections.every((c) => c.connected > 0 && finite(c.rssPerConnKb)))
        return 'no connection figures';
      if (s.storms.length < 2 || !s.storms.every((st) => st.reconnected > 0 && finite(st.allBackMs)))
        return 'reconnect storm: not every socket came back';
      return undefined;
    }
    case 'presence': {
      const p = r.presence;
      return p &&
        p.rows.length > 1 &&
        p.rows.every((row) => row.counted === row.online && finite(row.connectUs))
        ? undefined
        : 'no presence figures';
    }
    case 'spread': {
      const s = r.spread;
      return s && s.masters.length > 1 && s.cluster.received > 0 && finite(s.busiestShare, s.appCpuRatio)
        ? undefined
        : 'no spread figures';
    }
  }
}
