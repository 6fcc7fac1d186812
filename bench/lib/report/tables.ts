/** One markdown section per scenario (the figures of a run, product against baseline). */
import type { FanoutResult } from '../../scenarios/fanout.js';
import type { HistoryResult } from '../../scenarios/history.js';
import type { IdleResult } from '../../scenarios/idle.js';
import type { LocalityResult } from '../../scenarios/locality.js';
import type { LoginResult } from '../../scenarios/login.js';
import type { ScaleResult } from '../../scenarios/scale.js';
import { SUSTAINED_MAX_P99_MS, SUSTAINED_MIN_DELIVERED } from '../../scenarios/fanout.js';
import { ratio } from '../stats.js';
import { fmt, pb, pct, stepAt, table, x } from './format.js';
import { SCALE_FLAT_RATIO } from './targets.js';

export function fanoutTable(r: FanoutResult): string {
  const rates = [...new Set([...r.product.steps, ...r.baseline.steps].map((s) => s.offeredPerS))];
  const rows = rates.map((rate) => {
    const p = stepAt(r.product.steps, rate);
    const b = stepAt(r.baseline.steps, rate);
    return [
      String(rate),
      pb(p?.sentPerS, b?.sentPerS, 0),
      `${pct(p?.delivered)} / ${pct(b?.delivered)}`,
      pb(p?.latency.p50, b?.latency.p50),
      pb(p?.latency.p99, b?.latency.p99),
      x(ratio(p?.latency.p99, b?.latency.p99)),
      pb(p?.latency.max, b?.latency.max, 0),
      pb(p?.deliveriesPerS, b?.deliveriesPerS, 0),
      pb(p?.appCpuMsPer1k, b?.appCpuMsPer1k, 0),
      x(ratio(p?.appCpuMsPer1k, b?.appCpuMsPer1k)),
      pb(p?.redisCpuMsPer1k, b?.redisCpuMsPer1k, 0),
      x(ratio(p?.redisCpuMsPer1k, b?.redisCpuMsPer1k)),
      `${fmt(p?.redis.dataCmdsPerMsg, 2)}+${fmt(p?.redis.pubsubCmdsPerMsg, 2)} / ${fmt(b?.redis.dataCmdsPerMsg, 2)}+${fmt(b?.redis.pubsubCmdsPerMsg, 2)}`,
      pb(p?.loadgenCores, b?.loadgenCores, 2),
      pb(p?.otherCores, b?.otherCores, 2),
    ];
  });
  const head =
    `### 1. Fan-out: ${r.product.rooms} rooms × ${r.product.usersPerRoom} users over ${r.product.instances} instances, ` +
    `${r.product.repeat} × ${r.product.durationS} s per rate and side, rotating (adapter: product ${r.product.adapter}, baseline ${r.baseline.adapter}, matched ${r.matched.adapter})` +
    (r.acks ? '' : '; **no acks** (per-message figures per sent message)');
  const legend =
    "Cells are product / baseline; the baseline is the relay in the adapter's documented default setup (classic `createAdapter(pub, sub)`, " +
    'plain `createClient`). Latency: send → receipt on a client of another instance. CPU: utime+stime of the instance ' +
    'processes over the step and its drain, per 1000 acked messages. Redis cmds: commands Redis executed per message (INFO commandstats, ' +
    "those inside scripts included), other + PUBLISH/SPUBLISH. Load gen: the 2 client processes. Others': work on the machine that is not " +
    "the bench's (approximate, /proc/stat): a step with more than a few tenths is disturbed.";
  const sustainedLine = `Sustained (≥ ${SUSTAINED_MIN_DELIVERED * 100} % delivered and p99 ≤ ${SUSTAINED_MAX_P99_MS} ms): product ${r.product.sustainedPerS} msg/s, baseline ${r.baseline.sustainedPerS} msg/s (${x(ratio(r.product.sustainedPerS, r.baseline.sustainedPerS))}).`;
  const m = r.matched;
  const matchedRows = rates.map((rate) => {
    const p = stepAt(r.product.steps, rate);
    const b = stepAt(m.steps, rate);
    return [
      String(rate),
      `${pct(p?.delivered)} / ${pct(b?.delivered)}`,
      pb(p?.latency.p99, b?.latency.p99),
      x(ratio(p?.latency.p99, b?.latency.p99)),
      pb(p?.appCpuMsPer1k, b?.appCpuMsPer1k, 0),
      x(ratio(p?.appCpuMsPer1k, b?.appCpuMsPer1k)),
      pb(p?.redisCpuMsPer1k, b?.redisCpuMsPer1k, 0),
      x(ratio(p?.redisCpuMsPer1k, b?.redisCpuMsPer1k)),
      `${fmt(p?.redis.dataCmdsPerMsg, 2)}+${fmt(p?.redis.pubsubCmdsPerMsg, 2)} / ${fmt(b?.redis.dataCmdsPerMsg, 2)}+${fmt(b?.redis.pubsubCmdsPerMsg, 2)}`,
    ];
  });
  const matchedTable = [
    `Second column, product / matched baseline: the same relay with the product's adapter (${m.adapter}) and Redis client settings (no per-command timeout). ` +
      `Sustained: ${m.sustainedPerS} msg/s (product ${x(ratio(r.product.sustainedPerS, m.sustainedPerS))}).`,
    '',
    table(
      [
        'offered/s',
        'delivered %',
        'p99 ms',
        'p99 ×',
        'app CPU-ms/1k',
        'CPU ×',
        'Redis CPU-ms/1k',
        'Redis CPU ×',
        'Redis cmds/msg',
      ],
      matchedRows,
    ),
  ].join('\n');
  return [
    head,
    '',
    legend,
    '',
    table(
      [
        'offered/s',
        'sent/s',
        'delivered %',
        'p50 ms',
        'p99 ms',
        'p99 ×',
        'max ms',
        'deliveries/s',
        'app CPU-ms/1k',
        'CPU ×',
        'Redis CPU-ms/1k',
        'Redis CPU ×',
        'Redis cmds/msg',
        'load gen cores',
        "others' cores",
      ],
      rows,
    ),
    '',
    sustainedLine,
    '',
    matchedTable,
  ].join('\n');
}

export function idleTable(r: IdleResult): string {
  const p = r.product;
  const b = r.baseline;
  const mib = (kb: number[]) => kb.reduce((s, v) => s + v, 0) / 1024;
  const rows = [
    ['sockets connected', `${p.connected} of ${p.sockets}`, `${b.connected} of ${b.sockets}`, ''],
    [
      'time to connect all (ms)',
      fmt(p.connectMs, 0),
      fmt(b.connectMs, 0),
      x(ratio(p.connectMs, b.connectMs)),
    ],
    ['connects/s', fmt(p.connectsPerS, 0), fmt(b.connectsPerS, 0), x(ratio(p.connectsPerS, b.connectsPerS))],
    [
      'instance CPU per connect (ms)',
      fmt(p.cpuMsPerConnect, 2),
      fmt(b.cpuMsPerConnect, 2),
      x(ratio(p.cpuMsPerConnect, b.cpuMsPerConnect)),
    ],
    ['RSS of the instances before (MiB)', fmt(mib(p.rssBeforeKb)), fmt(mib(b.rssBeforeKb)), ''],
    ['RSS of the instances after (MiB)', fmt(mib(p.rssAfterKb)), fmt(mib(b.rssAfterKb)), ''],
    [
      '**RSS per connection (KB)**',
      fmt(p.rssPerConnKb),
      fmt(b.rssPerConnKb),
      x(ratio(p.rssPerConnKb, b.rssPerConnKb)),
    ],
    [
      'V8 heap in use per connection (KB)',
      fmt(p.heapPerConnKb),
      fmt(b.heapPerConnKb),
      x(ratio(p.heapPerConnKb, b.heapPerConnKb)),
    ],
  ];
  return [
    `### 2. Idle connections: ${p.sockets} sockets over 3 instances (product: ${p.sessions} signed-in sessions, ${Math.round(p.sockets / Math.max(1, p.sessions))} sockets each)`,
    '',
    `RSS per connection: growth of the instances' RSS while the last ${p.connected - p.warmSockets} sockets connected (the first ${p.warmSockets} warm the instances up); ` +
      'each reading after a settle and a forced full GC (inspector).',
    '',
    table(['metric', 'product', 'baseline', 'ratio'], rows),
  ].join('\n');
}

export function loginTable(r: LoginResult): string {
  const lag = (samples: LoginResult['lagStorm']) =>
    samples.map((s) => `${fmt(s.p99RawMs)} (${fmt(s.p99Ms)})`).join(', ') || '–';
  const rows = [
    ['BCRYPT_ROUNDS', String(r.bcryptRounds)],
    ['concurrent logins (failed)', `${r.logins} (${r.failures})`],
    ['storm duration (ms)', fmt(r.stormMs, 0)],
    [
      'login p50 / p99 / max (ms)',
      `${fmt(r.latency.p50, 0)} / ${fmt(r.latency.p99, 0)} / ${fmt(r.latency.max, 0)}`,
    ],
    ['event-loop p99 per instance, chat only: raw (lag) ms', lag(r.lagChatOnly)],
    ['event-loop p99 per instance, during the storm: raw (lag) ms', lag(r.lagStorm)],
    [
      'event-loop max per instance, during the storm (ms)',
      r.lagStorm.map((s) => fmt(s.maxRawMs)).join(', ') || '–',
    ],
    [
      'chat meanwhile: offered/s, delivered %, p99 ms',
      `${r.chat.offeredPerS}, ${pct(r.chat.delivered)}, ${fmt(r.chat.latency.p99)}`,
    ],
  ];
  return [
    `### 3. Login storm (product only; rate limits off, chat running)`,
    '',
    "Event-loop figures are prom-client's `nodejs_eventloop_lag_p99_seconds` from /metrics, scraped right before and right after the storm. " +
      'Its histogram samples every 10 ms and records the interval between samples, so an idle loop reads ~10 ms: "lag" is the value minus those 10 ms.',
    '',
    table(['metric', 'value'], rows),
  ].join('\n');
}

export function localityTable(r: LocalityResult): string {
  const s = r.sharded;
  const c = r.classic;
  const rows = [
    ['adapter in use', s.adapter, c.adapter, ''],
    ['delivered %', pct(s.step.delivered), pct(c.step.delivered), ''],
    [
      'p99 latency (ms)',
      fmt(s.step.latency.p99),
      fmt(c.step.latency.p99),
      x(ratio(s.step.latency.p99, c.step.latency.p99)),
    ],
    [
      'member instances: CPU-ms per 1k msgs (each)',
      fmt(s.memberCpuMsPer1k),
      fmt(c.memberCpuMsPer1k),
      x(ratio(s.memberCpuMsPer1k, c.memberCpuMsPer1k)),
    ],
    [
      '**member-less instances: CPU-ms per 1k msgs (each)**',
      fmt(s.nonMemberCpuMsPer1k),
      fmt(c.nonMemberCpuMsPer1k),
      x(r.ratio),
    ],
    [
      'member-less instances idle (CPU-ms/s, each)',
      fmt(s.nonMemberIdleCpuMsPerS),
      fmt(c.nonMemberIdleCpuMsPerS),
      '',
    ],
    [
      'Redis CPU-ms per 1k msgs',
      fmt(s.step.redisCpuMsPer1k),
      fmt(c.step.redisCpuMsPer1k),
      x(ratio(s.step.redisCpuMsPer1k, c.step.redisCpuMsPer1k)),
    ],
  ];
  return [
    `### 4. Room locality: 4 instances, ${r.rooms} rooms × ${r.usersPerRoom} users, all members on instances 1–2, ${r.ratePerS} msg/s (product, both adapters)`,
    '',
    table(['metric', 'sharded (dynamic)', 'classic', 'sharded / classic'], rows),
  ].join('\n');
}

export function historyTable(r: HistoryResult): string {
  const p = r.product;
  const b = r.baseline;
  const three = (s: { p50: number; p99: number; max: number }) =>
    `${fmt(s.p50)} / ${fmt(s.p99)} / ${fmt(s.max)}`;
  const rows = [
    ['joins (failed)', `${p.joins} (${p.failures})`, `${b.joins} (${b.failures})`, ''],
    ['**join → previous-messages p50 / p99 / max (ms)**', three(p.toHistory), 'no history', ''],
    ['join → ack p50 / p99 / max (ms)', three(p.toAck), three(b.toAck), x(ratio(p.toAck.p99, b.toAck.p99))],
    ['messages in previous-messages (min)', String(p.minHistorySize), '–', ''],
  ];
  return [
    `### 5. Join with history: ${r.rooms} rooms of 100 stored messages, ${r.joiners} clients × ${r.rounds} joins at once`,
    '',
    table(['metric', 'product', 'baseline (no history)', 'ratio (p99)'], rows),
  ].join('\n');
}

export function scaleTable(r: ScaleResult): string {
  const kb = (b: number) => `${fmt(b / 1024, 2)} KB`;
  const rows = r.rows.map((row) => [
    row.rooms.toLocaleString('en-US'),
    `**${kb(row.connectBytes)}**`,
    `**${fmt(row.creationBytes, 0)} B**`,
    fmt(row.commandsPerConnect, 1),
    kb(row.legacyConnectBytes),
    kb(row.legacyCreationBytes),
  ]);
  return [
    `### 6. Scale: the room directory vs the number of rooms (one instance; rooms seeded into Redis)`,
    '',
    `Headline, largest / smallest size (flat = ≤ ${SCALE_FLAT_RATIO}×): connect payload **${x(r.connectRatio)}**, ` +
      `bytes per socket per creation **${x(r.creationRatio)}**, Redis commands per connect **${x(r.commandsRatio)}**.`,
    '',
    table(
      [
        'rooms',
        'connect payload',
        'per socket per creation',
        'Redis commands per connect',
        'original protocol: connect',
        'original protocol: per creation',
      ],
      rows,
    ),
    '',
    'Directory clients get their own rooms (10 here) and a 20-room first page on connect, one `room-created` per creation; ' +
      'original-protocol clients get `update-rooms` bounded to the newest 100 rooms. Before the directory every connect and ' +
      'every creation sent the whole list to every socket (82 KB at 1,000 rooms, 921 KB at 11,000).',
    ...connectionsSection(r),
  ].join('\n');
}

function connectionsSection(r: ScaleResult): string[] {
  const out: string[] = [];
  if (r.connections.length > 0) {
    const rows = r.connections.map((c) => [
      `${c.sockets.toLocaleString('en-US')} (${c.perInstance.toLocaleString('en-US')})`,
      `${c.connected} / ${c.baselineConnected}`,
      `**${pb(c.rssPerConnKb, c.baselineRssPerConnKb)}**`,
      x(ratio(c.rssPerConnKb, c.baselineRssPerConnKb)),
      pb(c.idleCpuMsPerSPer1k, c.baselineIdleCpuMsPerSPer1k, 2),
      pb(c.cpuMsPerConnect, c.baselineCpuMsPerConnect, 2),
    ]);
    out.push(
      '',
      `Connections: idle signed-in sockets over 3 instances, product / baseline relay (default setup). Headline, largest / smallest size (product): ` +
        `RSS per connection **${x(r.rssRatio)}**, idle CPU per 1000 sockets **${x(r.idleCpuRatio)}**, CPU per connect **${x(r.connectCpuRatio)}**.`,
      '',
      table(
        [
          'sockets (per instance)',
          'connected',
          'RSS per connection KB',
          'RSS ×',
          'idle CPU-ms/s per 1000 sockets',
          'CPU-ms per connect',
        ],
        rows,
      ),
    );
  }
  if (r.storms.length > 0) {
    const rows = r.storms.map((s) => [
      s.sockets.toLocaleString('en-US'),
      String(s.killedHeld),
      String(s.reconnected),
      Number.isFinite(s.allBackMs) ? `**${fmt(s.allBackMs / 1000, 1)} s**` : '**not all**',
      fmt(s.redisCommandsPerReconnect, 1),
      `${fmt(s.survivorLagP99Ms)} (${fmt(s.survivorLagP99RawMs)})`,
      `${s.nginx5xx} / ${s.clientConnectErrors}`,
      `${s.storedDuringStorm} / **${s.lost}** (${s.notRecovered})`,
    ]);
    out.push(
      '',
      `Reconnect storm: signed-in sockets through nginx (all on one instance: one client address), members of 10 rooms, that instance SIGKILLed; ` +
        `clients reconnect with socket.io-client's default jittered backoff (the browser client's) and rejoin with the last seq they hold, while a sender per room on a survivor posts every 500 ms. Redis commands per reconnect, largest / smallest: **${x(r.reconnectCommandsRatio)}**.`,
      '',
      table(
        [
          'sockets',
          'on the killed instance',
          'reconnected',
          'kill → all back',
          'Redis commands per reconnect',
          "survivors' lag p99 ms (raw)",
          'nginx 5xx / client failed attempts',
          'messages stored meanwhile / member deliveries missing after catch-up (rejoins not recovered)',
        ],
        rows,
      ),
    );
  }
  return out;
}
