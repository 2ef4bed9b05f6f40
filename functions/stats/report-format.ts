// `greygate report`'s three outputs: text for an admin's terminal, JSON (the whole Report, field
// names in snake_case like the HTTP API) and CSV with one row per day for a spreadsheet.

import type { DayFigures, PeriodFigures, Report } from './stats-report.ts';

export type ReportFormat = 'text' | 'json' | 'csv';

export function formatReport(report: Report, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(reportJson(report), null, 2)}\n`;
  if (format === 'csv') return reportCsv(report);
  return reportText(report);
}

function figuresJson(f: PeriodFigures): Record<string, unknown> {
  return {
    decisions: f.decisions,
    greylisted: f.greylisted,
    passed: f.passed,
    by_reason: f.byReason,
    new_triplets: f.newTriplets,
    passed_later: f.passedLater,
    never_passed: f.neverPassed,
    never_passed_share: f.neverPassedShare,
    first_passes: f.firstPasses,
    delay_histogram: f.delayHistogram,
    delay_seconds: f.delaySeconds,
  };
}

export function reportJson(report: Report): Record<string, unknown> {
  return {
    store: report.store,
    from: new Date(report.from * 1000).toISOString(),
    to: new Date(report.to * 1000).toISOString(),
    never_passed_source: report.neverPassedSource,
    total: figuresJson(report.total),
    days: report.days.map((d) => ({ day: d.day, ...figuresJson(d) })),
    pending: {
      count: report.pending.count,
      oldest_first_seen: report.pending.oldestFirstSeen === null ? null : new Date(report.pending.oldestFirstSeen * 1000).toISOString(),
      by_client: report.pending.byClient,
    },
  };
}

const share = (x: number | null): string => (x === null ? '' : x.toFixed(4));
const num = (x: number | null): string => (x === null ? '' : String(x));

function reportCsv(report: Report): string {
  const reasons = [...new Set(report.days.flatMap((d) => Object.keys(d.byReason)))].sort();
  const header = ['day', 'decisions', 'greylisted', 'passed', 'new_triplets', 'passed_later', 'never_passed', 'never_passed_share', 'first_passes', 'delay_p50', 'delay_p95', ...reasons];
  const row = (d: DayFigures): string[] => [
    d.day,
    String(d.decisions),
    String(d.greylisted),
    String(d.passed),
    String(d.newTriplets),
    String(d.passedLater),
    num(d.neverPassed),
    share(d.neverPassedShare),
    String(d.firstPasses),
    num(d.delaySeconds.p50),
    num(d.delaySeconds.p95),
    ...reasons.map((r) => String(d.byReason[r] ?? 0)),
  ];
  return [header, ...report.days.map(row)].map((cells) => cells.join(',')).join('\n') + '\n';
}

function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function percent(x: number | null): string {
  return x === null ? '-' : `${(x * 100).toFixed(1)} %`;
}

function utc(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function reportText(report: Report): string {
  const lines: string[] = [];
  lines.push(`greygate report: ${report.store}, ${utc(report.from)} to ${utc(report.to)}`);
  lines.push('');
  const cols = ['day', 'decisions', 'greylisted', 'passed', 'new', 'never back', 'share', 'delay p50', 'delay p95'];
  const rows = [...report.days.map((d) => dayRow(d.day, d)), dayRow('total', report.total)];
  const widths = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const pad = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  lines.push(pad(cols));
  for (const r of rows) lines.push(pad(r));
  lines.push('');
  lines.push(
    report.neverPassedSource === 'counted'
      ? 'never back: new triplets removed without ever passing (counted by the purge), of the hours whose retry window is over ("-": none yet)'
      : 'never back: new triplets not passed by the end of their retry window (derived: DynamoDB\'s TTL removes them unseen); "-": no hour is over yet',
  );
  lines.push('');
  lines.push('decisions by reason:');
  for (const [reason, n] of Object.entries(report.total.byReason).sort((a, b) => b[1] - a[1])) lines.push(`  ${reason.padEnd(32)} ${String(n).padStart(8)}`);
  const d = report.total.delaySeconds;
  lines.push('');
  lines.push(`delay until pass (${report.total.firstPasses} first passes): p50 ${duration(d.p50)}, p90 ${duration(d.p90)}, p95 ${duration(d.p95)}, p99 ${duration(d.p99)}`);
  lines.push('');
  const p = report.pending;
  lines.push(`pending triplets now: ${p.count}${p.oldestFirstSeen === null ? '' : ` (oldest first seen ${utc(p.oldestFirstSeen)})`}`);
  if (p.byClient === null) lines.push('  (keys are hashed under --privacy: no client to name)');
  else if (p.byClient.length > 0) {
    lines.push('delayed most (pending triplets by client network or organisation):');
    for (const c of p.byClient) lines.push(`  ${c.client.padEnd(40)} ${String(c.pending).padStart(6)}`);
  }
  return `${lines.join('\n')}\n`;
}

function dayRow(label: string, f: PeriodFigures): string[] {
  return [
    label,
    String(f.decisions),
    String(f.greylisted),
    String(f.passed),
    String(f.newTriplets),
    f.neverPassed === null ? '-' : String(f.neverPassed),
    percent(f.neverPassedShare),
    duration(f.delaySeconds.p50),
    duration(f.delaySeconds.p95),
  ];
}
