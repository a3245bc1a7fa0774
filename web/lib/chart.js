// Hand-written SVG charts: horizontal bars for rankings, columns over time. Each chart carries a
// title for screen readers and a <title> per mark as a tooltip.
import { h } from './dom.js';

const svg = (tag, attrs, ...children) => h(`svg:${tag}`, attrs, ...children);

/**
 * Horizontal bars. items: [{label, value, sub?}]; fmt formats a value.
 */
export function barChart(items, { fmt = String, label = '', max = 12 } = {}) {
  const rows = items.slice(0, max);
  const top = Math.max(1, ...rows.map((r) => Number(r.value) || 0));
  const rowH = 26;
  const W = 360;
  const labelW = 112;
  const valueW = 84;
  const barW = W - labelW - valueW - 16;
  const H = rows.length * rowH + 8;
  return svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart bars', role: 'img', 'aria-label': label, preserveAspectRatio: 'xMinYMin meet' },
    svg('title', null, label),
    rows.map((r, i) => {
      const y = 4 + i * rowH;
      const w = Math.max(2, Math.round((Number(r.value) / top) * barW));
      const name = r.label.length > 10 ? `${r.label.slice(0, 9)}…` : r.label;
      return svg('g', { class: 'bar-row' },
        svg('title', null, `${r.title || r.label}: ${fmt(r.value)}`),
        svg('text', { x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'axis-label' }, name),
        svg('rect', { x: labelW, y: y + 5, width: w, height: rowH - 10, rx: 3, class: `bar${r.value < 0 ? ' neg' : ''}` }),
        svg('text', { x: labelW + w + 6, y: y + rowH / 2 + 4, class: 'value-label' }, fmt(r.value)));
    }));
}

/**
 * Columns over time. points: [{key: 'YYYY-MM-DD', value}], one per day in order (gaps as 0).
 */
export function timeChart(points, { fmt = String, short = fmt, label = '', dayLabel = (k) => k.slice(5), width = 960 } = {}) {
  // Drawn at the container's width, so text keeps its size on a phone and on a wide screen.
  const W = Math.max(300, Math.round(width));
  const H = W < 500 ? 200 : 250;
  const left = 64;
  const bottom = 26;
  const top = 10;
  const plotW = W - left - 8;
  const plotH = H - top - bottom;
  const maxV = Math.max(1, ...points.map((p) => Number(p.value) || 0));
  const step = plotW / Math.max(1, points.length);
  const ticks = [0, 0.5, 1].map((f) => Math.round(maxV * f));
  const every = Math.max(1, Math.ceil(points.length / Math.floor(plotW / 64)));
  return svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart time', role: 'img', 'aria-label': label },
    svg('title', null, label),
    ticks.map((v) => {
      const y = top + plotH - (v / maxV) * plotH;
      return svg('g', null,
        svg('line', { x1: left, x2: W - 8, y1: y, y2: y, class: 'grid' }),
        svg('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis-label' }, short(v)));
    }),
    points.map((p, i) => {
      const v = Number(p.value) || 0;
      const hgt = Math.max(v > 0 ? 2 : 0, (v / maxV) * plotH);
      const x = left + i * step;
      return svg('g', { class: 'col' },
        svg('title', null, `${p.key}: ${fmt(v)}`),
        svg('rect', { x: x + step * 0.15, y: top + plotH - hgt, width: Math.max(1, step * 0.7), height: hgt, rx: 2, class: 'bar', 'data-key': p.key, 'data-value': v }),
        i % every === 0 ? svg('text', { x: x + step / 2, y: H - 8, 'text-anchor': 'middle', class: 'axis-label' }, dayLabel(p.key)) : null);
    }));
}
