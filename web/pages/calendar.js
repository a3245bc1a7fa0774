// The session calendar: a week (Monday first, a column a day) or a month (a grid of weeks), each
// session a chip with its time, KOL and platform, linking to its page. Days are local days.
import { h } from '../lib/dom.js';
import { t, tt, lang } from '../lib/i18n.js';
import { time, utcToLocalDate } from '../lib/format.js';

/** YYYY-MM-DD (local) -> Date at local midnight. */
function day(key) {
  const [y, m, d] = key.split('-').map(Number);
  return new Date(y, m - 1, d);
}

function key(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function addDays(d, n) {
  const x = new Date(d);
  x.setDate(x.getDate() + n);
  return x;
}

/** The Monday on or before `d`. */
function monday(d) {
  return addDays(d, -((d.getDay() + 6) % 7));
}

/** The days a view shows: 7 from the week's Monday, or whole weeks covering the month. */
export function visibleDays(view, anchorKey) {
  const anchor = day(anchorKey);
  if (view === 'week') {
    const start = monday(anchor);
    return Array.from({ length: 7 }, (_, i) => addDays(start, i));
  }
  const first = new Date(anchor.getFullYear(), anchor.getMonth(), 1);
  const last = new Date(anchor.getFullYear(), anchor.getMonth() + 1, 0);
  const start = monday(first);
  const weeks = Math.ceil(((last - start) / 86_400_000 + 1) / 7);
  return Array.from({ length: weeks * 7 }, (_, i) => addDays(start, i));
}

/**
 * The calendar element. `move(nextAnchorKey)` is called by the previous / today / next buttons.
 */
export function calendar({ view, anchor, sessions, kolById, move }) {
  const days = visibleDays(view, anchor);
  const anchorDate = day(anchor);
  const byDay = new Map();
  for (const s of sessions) {
    const k = utcToLocalDate(s.starts_at);
    if (!byDay.has(k)) byDay.set(k, []);
    byDay.get(k).push(s);
  }
  for (const list of byDay.values()) list.sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  const today = key(new Date());
  const step = (n) => {
    const d = view === 'week' ? addDays(anchorDate, 7 * n) : new Date(anchorDate.getFullYear(), anchorDate.getMonth() + n, 1);
    move(key(d));
  };
  const title = view === 'week'
    ? `${new Intl.DateTimeFormat(lang(), { month: 'short', day: 'numeric' }).format(days[0])} – ${new Intl.DateTimeFormat(lang(), { month: 'short', day: 'numeric', year: 'numeric' }).format(days[6])}`
    : new Intl.DateTimeFormat(lang(), { year: 'numeric', month: 'long' }).format(anchorDate);
  const weekday = new Intl.DateTimeFormat(lang(), { weekday: 'short' });
  const chip = (s) => h('a', { href: `/sessions/${s.id}`, class: `cal-chip pf-${s.platform} ss-${s.status}`, 'data-session': s.id,
    title: `${s.title} · ${kolById.get(s.kol_id)?.name || ''} · ${tt('platform', s.platform)} · ${tt('sstatus', s.status)}` },
  h('time', null, time(s.starts_at)), ' ', h('span', { class: 'who' }, kolById.get(s.kol_id)?.name || t('common.unknown')),
  view === 'week' ? h('span', { class: 'what' }, s.title) : null);
  const MAX_IN_MONTH = 3;
  const cells = days.map((d) => {
    const k = key(d);
    const items = byDay.get(k) || [];
    const outside = view === 'month' && d.getMonth() !== anchorDate.getMonth();
    const shown = view === 'month' ? items.slice(0, MAX_IN_MONTH) : items;
    return h('div', { class: `cal-day${outside ? ' outside' : ''}${k === today ? ' today' : ''}`, 'data-day': k, role: 'gridcell' },
      h('div', { class: 'cal-date' }, view === 'week' ? `${weekday.format(d)} ${d.getDate()}` : String(d.getDate())),
      shown.map(chip),
      items.length > shown.length
        ? h('a', { class: 'cal-more', href: `/sessions?view=week&date=${k}` }, t('calendar.more', { n: items.length - shown.length }))
        : null);
  });
  return h('section', { class: `calendar cal-${view}`, 'aria-label': title },
    h('div', { class: 'cal-head' },
      h('button', { type: 'button', class: 'ghost', 'aria-label': t('calendar.prev'), onclick: () => step(-1) }, '‹'),
      h('h2', null, title),
      h('button', { type: 'button', class: 'ghost', 'aria-label': t('calendar.next'), onclick: () => step(1) }, '›'),
      h('button', { type: 'button', class: 'ghost', onclick: () => move(today) }, t('calendar.today'))),
    h('div', { class: 'cal-grid', role: 'grid' },
      view === 'month' ? days.slice(0, 7).map((d) => h('div', { class: 'cal-weekday', role: 'columnheader' }, weekday.format(d))) : null,
      cells));
}
