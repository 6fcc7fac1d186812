/**
 * Figures of one property run: named counts, owned by the property that made them and returned with
 * its outcome (never shared between properties). `summary` merges them for the end-of-run line.
 */
export class Tally {
  readonly counts = new Map<string, number>();

  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** Sums several tallies (a property's workers) into a new one. */
  static merge(tallies: readonly Tally[]): Tally {
    const sum = new Tally();
    for (const t of tallies) for (const [k, n] of t.counts) sum.add(k, n);
    return sum;
  }

  /** Counts whose key starts with `prefix`, prefix removed, sorted by key. */
  group(prefix: string): Record<string, number> {
    return Object.fromEntries(
      [...this.counts]
        .filter(([k]) => k.startsWith(prefix))
        .map(([k, n]): [string, number] => [k.slice(prefix.length), n])
        .sort(([a], [b]) => a.localeCompare(b)),
    );
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** One table row per property: its runs and its own figures. */
export function summary(rows: readonly { property: string; runs: number; tally: Tally }[]): string {
  const keys = ['payloads', 'acks', 'raw', 'http'] as const;
  const total = Tally.merge(rows.map((r) => r.tally));
  const lines = rows.map(
    (r) =>
      `  ${r.property.padEnd(28)} runs ${String(r.runs).padStart(6)}  ${keys.map((k) => `${k} ${r.tally.get(k)}`).join('  ')}`,
  );
  return [
    `[figures] fuzz: ${keys.map((k) => `${total.get(k)} ${k === 'raw' ? 'raw packets' : k === 'http' ? 'HTTP requests' : k === 'acks' ? 'acks answered' : 'socket payloads'}`).join(', ')}`,
    ...lines,
    `  ack codes ${JSON.stringify(total.group('code:'))}`,
    `  HTTP statuses ${JSON.stringify(total.group('status:'))}`,
    `  other ${JSON.stringify(Object.fromEntries([...total.counts].filter(([k]) => !k.includes(':') && !(keys as readonly string[]).includes(k))))}`,
  ].join('\n');
}
