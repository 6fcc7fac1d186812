/** Markdown formatting for the bench report: numbers, product / baseline cells, ratios, tables. */
import type { StepResult } from '../step.js';

/** A number with `digits` decimals (en-US grouping); '–' when absent or not finite. */
export function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A ratio as `1.23×`. */
export const x = (value: number) => (Number.isFinite(value) ? `${fmt(value, 2)}×` : '–');
/** A `product / baseline` cell. */
export const pb = (p: number | undefined, b: number | undefined, digits = 1) =>
  `${fmt(p, digits)} / ${fmt(b, digits)}`;
/** A fraction (0–1) as a percentage, two decimals just under 100 %. */
export const pct = (v: number | undefined) =>
  v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(v >= 0.9995 && v < 1 ? 2 : 1)}`;

/** A markdown table, columns padded to their widest cell. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** The fan-out step run at this offered rate (msg/s), if any. */
export function stepAt(steps: readonly StepResult[], rate: number): StepResult | undefined {
  return steps.find((s) => s.offeredPerS === rate);
}
