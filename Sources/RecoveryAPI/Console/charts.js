// Charts drawn as SVG from the records the API returns: a line over days
// (mood) and bars over days (cravings, medication adherence). Each chart
// carries a text summary for screen readers.
import { h } from './dom.js';

const W = 560, H = 220, LEFT = 36, RIGHT = 12, TOP = 12, BOTTOM = 40;

function frame(title, summary, yMax, yTicks) {
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${summary}` }, h('title', {}, title));
  for (const tick of yTicks) {
    const y = yScale(tick, yMax);
    svg.append(h('line', { class: 'grid', x1: LEFT, x2: W - RIGHT, y1: y, y2: y }));
    svg.append(h('text', { x: LEFT - 6, y: y + 4, 'text-anchor': 'end' }, String(tick)));
  }
  svg.append(h('line', { class: 'axis', x1: LEFT, x2: LEFT, y1: TOP, y2: H - BOTTOM }));
  svg.append(h('line', { class: 'axis', x1: LEFT, x2: W - RIGHT, y1: H - BOTTOM, y2: H - BOTTOM }));
  return svg;
}

function yScale(value, yMax) { return TOP + (H - TOP - BOTTOM) * (1 - value / yMax); }
function xStep(count) { return (W - LEFT - RIGHT) / Math.max(count, 1); }

function labelDays(svg, days) {
  const step = xStep(days.length);
  const every = Math.max(1, Math.ceil(days.length / 7));
  days.forEach((day, i) => {
    if (i % every !== 0) return;
    svg.append(h('text', { x: LEFT + step * (i + 0.5), y: H - BOTTOM + 16, 'text-anchor': 'middle' }, day.slice(5)));
  });
}

function wrap(title, svg, empty) {
  return h('figure', { class: 'chart' }, h('figcaption', {}, h('strong', {}, title)), empty ? h('p', {}, empty) : svg);
}

/** A line of values (1–10) by day: `points` as [{day, value}] oldest first. */
export function lineChart(title, points, yMax = 10) {
  if (!points.length) return wrap(title, null, 'No entries in this period.');
  const average = points.reduce((sum, p) => sum + p.value, 0) / points.length;
  const svg = frame(title, `${points.length} days, average ${average.toFixed(1)} of ${yMax}, latest ${points.at(-1).value}`, yMax, [0, yMax / 2, yMax]);
  const step = xStep(points.length);
  const coordinates = points.map((p, i) => [LEFT + step * (i + 0.5), yScale(p.value, yMax)]);
  svg.append(h('polyline', { class: 'series', points: coordinates.map((c) => c.join(',')).join(' ') }));
  coordinates.forEach(([x, y], i) => svg.append(h('circle', { class: 'dot', cx: x, cy: y, r: 3.5 }, h('title', {}, `${points[i].day}: ${points[i].value}`))));
  labelDays(svg, points.map((p) => p.day));
  return wrap(title, svg);
}

/** Bars by day: `bars` as [{day, value, missed?}] oldest first. */
export function barChart(title, bars, yMax, unit) {
  if (!bars.length) return wrap(title, null, 'No entries in this period.');
  const total = bars.reduce((sum, b) => sum + b.value, 0);
  const svg = frame(title, `${bars.length} days, ${unit(total, bars)}`, yMax, [0, Math.round(yMax / 2), yMax]);
  const step = xStep(bars.length);
  bars.forEach((bar, i) => {
    const y = yScale(Math.min(bar.value, yMax), yMax);
    svg.append(h('rect', { class: bar.missed ? 'bar missed' : 'bar', x: LEFT + step * i + step * 0.15, y, width: step * 0.7, height: H - BOTTOM - y },
      h('title', {}, `${bar.day}: ${bar.label ?? bar.value}`)));
  });
  labelDays(svg, bars.map((b) => b.day));
  return wrap(title, svg);
}
