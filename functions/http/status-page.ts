// The status page (GET /ui): what Postgrey's portal showed, greylisted versus passed per hour, and
// the report's figures, as one small HTML page with its charts drawn here as SVG. No script, no
// build step, nothing loaded from elsewhere: it works offline, under a strict CSP, and the
// range switch is a plain link.

import { DELAY_BUCKETS_SECONDS, HOUR_SECONDS, type HourStats } from '../stats/stats-model.ts';
import type { StatusData } from '../stats/status-source.ts';
import type { PeriodFigures } from '../stats/stats-report.ts';

export const STATUS_RANGES: Readonly<Record<string, number>> = Object.freeze({ '24h': 86_400, '7d': 7 * 86_400, '30d': 30 * 86_400 });

/** Nothing but this page's own inline style; no script at all. */
export const STATUS_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const W = 900;
const H = 240;
const PAD = { left: 48, right: 12, top: 12, bottom: 28 };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function utc(epoch: number): string {
  return `${new Date(epoch * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function percent(x: number | null): string {
  return x === null ? '–' : `${(x * 100).toFixed(1)} %`;
}

function duration(s: number | null): string {
  if (s === null) return '–';
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** Greylisted and passed per hour: one point per hour of the range, zero where nothing was counted. */
function trafficChart(data: StatusData, rangeKey: string): string {
  const count = Math.round(data.rangeSeconds / HOUR_SECONDS);
  const last = data.now - (data.now % HOUR_SECONDS);
  const first = last - (count - 1) * HOUR_SECONDS;
  const byHour = new Map<number, HourStats>(data.hours.map((h) => [h.hour, h]));
  const series = { greylisted: [] as number[], passed: [] as number[] };
  for (let i = 0; i < count; i += 1) {
    const counters = byHour.get(first + i * HOUR_SECONDS)?.counters ?? {};
    let g = 0;
    let p = 0;
    for (const [name, n] of Object.entries(counters)) {
      if (name.startsWith('d.greylist.')) g += n;
      else if (name.startsWith('d.pass.')) p += n;
    }
    series.greylisted.push(g);
    series.passed.push(p);
  }
  const max = Math.max(1, ...series.greylisted, ...series.passed);
  const x = (i: number): number => PAD.left + (count === 1 ? 0 : (i * (W - PAD.left - PAD.right)) / (count - 1));
  const y = (v: number): number => H - PAD.bottom - (v * (H - PAD.top - PAD.bottom)) / max;
  const line = (name: string, values: number[], color: string): string =>
    `<polyline class="series" data-series="${name}" data-points="${values.length}" fill="none" stroke="${color}" stroke-width="1.5" ` +
    `points="${values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`;
  return (
    `<svg id="traffic" role="img" aria-label="greylisted and passed per hour, last ${esc(rangeKey)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">` +
    `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#999"/>` +
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#999"/>` +
    `<text x="${PAD.left - 6}" y="${PAD.top + 10}" text-anchor="end">${max}</text>` +
    `<text x="${PAD.left - 6}" y="${H - PAD.bottom}" text-anchor="end">0</text>` +
    `<text x="${PAD.left}" y="${H - 8}">${esc(utc(first))}</text>` +
    `<text x="${W - PAD.right}" y="${H - 8}" text-anchor="end">${esc(utc(last))}</text>` +
    line('greylisted', series.greylisted, '#c0392b') +
    line('passed', series.passed, '#2471a3') +
    '</svg>'
  );
}

/** First passes by how long they waited: a bar per histogram bucket. */
function delayChart(total: PeriodFigures): string {
  const bounds = [...DELAY_BUCKETS_SECONDS.map(String), 'inf'];
  const values = bounds.map((b) => total.delayHistogram[b] ?? 0);
  const max = Math.max(1, ...values);
  const h = 160;
  const bw = (W - PAD.left - PAD.right) / bounds.length;
  const bars = values
    .map((v, i) => {
      const bh = (v * (h - 40)) / max;
      const label = bounds[i] === 'inf' ? `>${duration(DELAY_BUCKETS_SECONDS[DELAY_BUCKETS_SECONDS.length - 1] ?? 0)}` : `≤${duration(Number(bounds[i]))}`;
      const bx = PAD.left + i * bw;
      return (
        `<rect class="bar" data-le="${bounds[i]}" data-count="${v}" x="${(bx + 2).toFixed(1)}" y="${(h - 24 - bh).toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${bh.toFixed(1)}" fill="#2471a3"/>` +
        `<text x="${(bx + bw / 2).toFixed(1)}" y="${h - 8}" text-anchor="middle">${esc(label)}</text>` +
        (v > 0 ? `<text x="${(bx + bw / 2).toFixed(1)}" y="${(h - 28 - bh).toFixed(1)}" text-anchor="middle">${v}</text>` : '')
      );
    })
    .join('');
  return `<svg id="delays" role="img" aria-label="delay until pass" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}">${bars}</svg>`;
}

export function renderStatusPage(data: StatusData, rangeKey: string, version: string): string {
  const { report } = data;
  const t = report.total;
  const links = Object.keys(STATUS_RANGES)
    .map((key) => (key === rangeKey ? `<strong class="range" aria-current="page">${key}</strong>` : `<a class="range" href="?range=${key}">${key}</a>`))
    .join(' · ');
  const dayRows = report.days
    .map(
      (d) =>
        `<tr><td>${d.day}</td><td>${d.decisions}</td><td>${d.greylisted}</td><td>${d.passed}</td><td>${d.newTriplets}</td>` +
        `<td>${d.neverPassed ?? '–'}</td><td>${percent(d.neverPassedShare)}</td><td>${duration(d.delaySeconds.p50)}</td><td>${duration(d.delaySeconds.p95)}</td></tr>`,
    )
    .join('');
  const reasonRows = Object.entries(t.byReason)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `<tr><td>${esc(reason)}</td><td>${n}</td></tr>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>greygate status</title>
<link rel="icon" href="data:,">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:960px}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse}td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}svg text{font-size:11px;fill:#555}
.legend span{display:inline-block;width:1em;height:.3em;vertical-align:middle;margin:0 .3em 0 1em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dd{margin:0}
</style></head><body>
<h1>greygate status</h1>
<p>${esc(report.store)} · ${esc(utc(report.from))} to ${esc(utc(report.to))} · greygate ${esc(version)}</p>
<p>Range: ${links}</p>
<dl id="summary">
<dt>decisions</dt><dd id="decisions">${t.decisions}</dd>
<dt>greylisted</dt><dd id="greylisted">${t.greylisted} (${percent(t.decisions === 0 ? null : t.greylisted / t.decisions)})</dd>
<dt>never came back</dt><dd id="never-passed">${
    t.neverPassed === null
      ? `not known yet: an hour counts once its retry window (${duration(data.retryWindowSeconds)}) is over${rangeKey === '24h' ? '; see 7d' : ''}`
      : `${t.neverPassed}: ${percent(t.neverPassedShare)} of the new triplets of the hours whose retry window is over`
  }</dd>
<dt>delay until pass</dt><dd id="delay">p50 ${duration(t.delaySeconds.p50)}, p95 ${duration(t.delaySeconds.p95)} (${t.firstPasses} first passes)</dd>
</dl>
<h2>Greylisted and passed, per hour</h2>
<p class="legend"><span style="background:#c0392b"></span>greylisted<span style="background:#2471a3"></span>passed</p>
${trafficChart(data, rangeKey)}
<h2>How long passed mail waited</h2>
${delayChart(t)}
<h2>Per day (UTC)</h2>
<table id="days"><thead><tr><th>day</th><th>decisions</th><th>greylisted</th><th>passed</th><th>new</th><th>never back</th><th>share</th><th>delay p50</th><th>delay p95</th></tr></thead><tbody>${dayRows}</tbody></table>
<h2>Decisions by reason</h2>
<table id="reasons"><tbody>${reasonRows}</tbody></table>
<p>"Never came back" counts only hours whose retry window is over. Pending triplets: <code>greygate report</code>.</p>
</body></html>
`;
}
