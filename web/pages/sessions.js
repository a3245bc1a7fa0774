// Sessions: the schedule as a list grouped by day or as a week or month calendar (by KOL and
// platform), and scheduling a new one.
import { api, listAll, lookups, byId, ApiError } from '../lib/api.js';
import { h, replace, empty, select, pageHeader, badge, field, formError, showErrors, busy, toast } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { date, time, localDateTimeToUtc, utcToLocalDate } from '../lib/format.js';
import { calendar } from './calendar.js';

export const SESSION_STATUSES = ['scheduled', 'live', 'ended', 'cancelled'];

export default async function render(main, { query, navigate, can, me }) {
  const [sessions, kols] = await Promise.all([listAll('/sessions'), lookups.kols()]);
  const kolById = byId(kols);
  const when = select([['upcoming', t('sessions.upcoming')], ['past', t('sessions.past')], ['all', t('sessions.all')]], query.when || 'upcoming', { 'aria-label': t('sessions.when') });
  const statusSel = select([['', t('common.allStatuses')], ...SESSION_STATUSES.map((s) => [s, tt('sstatus', s)])], query.status, { 'aria-label': t('session.status') });
  const kolSel = select([['', t('common.allKols')], ...kols.map((k) => [k.id, k.name])], query.kol_id, { 'aria-label': t('session.kol') });
  const platformSel = select([['', t('common.allPlatforms')], ...['taobao', 'douyin', 'kuaishou'].map((p) => [p, tt('platform', p)])], query.platform, { 'aria-label': t('session.platform') });
  const viewSel = select([['list', t('sessions.viewList')], ['week', t('sessions.viewWeek')], ['month', t('sessions.viewMonth')]], query.view || 'list', { 'aria-label': t('sessions.view') });
  // The day the calendar shows (its week or month), local.
  let anchor = query.date && /^\d{4}-\d{2}-\d{2}$/.test(query.date) ? query.date : utcToLocalDate(new Date().toISOString());
  const list = h('div');
  const formSlot = h('div');

  const update = () => {
    const view = viewSel.value;
    const params = new URLSearchParams();
    if (view !== 'list') params.set('view', view);
    if (view !== 'list') params.set('date', anchor);
    if (view === 'list' && when.value !== 'upcoming') params.set('when', when.value);
    if (statusSel.value) params.set('status', statusSel.value);
    if (kolSel.value) params.set('kol_id', kolSel.value);
    if (platformSel.value) params.set('platform', platformSel.value);
    history.replaceState(null, '', `/sessions${params.toString() ? `?${params}` : ''}`);
    when.hidden = view !== 'list';
    const matching = sessions.filter((s) => (!statusSel.value || s.status === statusSel.value) &&
      (!kolSel.value || s.kol_id === kolSel.value) && (!platformSel.value || s.platform === platformSel.value));
    if (view !== 'list') {
      return replace(list, calendar({
        view, anchor, sessions: matching, kolById,
        move: (next) => { anchor = next; update(); },
      }));
    }
    const now = Date.now();
    const rows = matching.filter((s) =>
      (when.value === 'all' || (when.value === 'upcoming' ? Date.parse(s.ends_at) >= now : Date.parse(s.ends_at) < now)))
      .sort((a, b) => (when.value === 'past' ? b.starts_at.localeCompare(a.starts_at) : a.starts_at.localeCompare(b.starts_at)));
    const days = new Map();
    for (const s of rows) {
      const d = date(s.starts_at);
      if (!days.has(d)) days.set(d, []);
      days.get(d).push(s);
    }
    replace(list, rows.length ? [...days].map(([d, items]) => h('section', { class: 'day' },
      h('h2', { class: 'day-head' }, d),
      h('ul', { class: 'session-list' }, items.map((s) => h('li', { class: 'card session-row', 'data-session': s.id },
        h('div', { class: 'when' }, h('strong', null, time(s.starts_at)), h('span', { class: 'muted' }, `– ${time(s.ends_at)}`)),
        h('div', { class: 'what' },
          h('a', { href: `/sessions/${s.id}`, class: 'title' }, s.title),
          h('span', { class: 'muted' }, `${kolById.get(s.kol_id)?.name || t('common.unknown')} · ${tt('platform', s.platform)}${s.room_id ? ` · ${s.room_id}` : ''}`)),
        h('div', { class: 'meta' },
          h('span', { class: 'slots', title: t('session.slots') }, t('sessions.slots', { n: s.lineup.length, cap: s.slot_capacity })),
          badge(tt('sstatus', s.status), `ss-${s.status}`))))))) : empty(sessions.length ? t('sessions.noMatch') : t('sessions.none')));
  };
  for (const el of [when, statusSel, kolSel, platformSel, viewSel]) el.addEventListener('change', update);

  const openForm = () => {
    const kol = select([['', t('common.choose')], ...kols.map((k) => [k.id, k.name])], '', { required: true });
    const platform = select([['', t('common.choose')]], '');
    kol.addEventListener('change', () => {
      const k = kolById.get(kol.value);
      platform.replaceChildren(...(k ? k.accounts : []).map((a) => h('option', { value: a.platform }, tt('platform', a.platform))));
    });
    const c = {
      title: h('input', { type: 'text', required: true }),
      room_id: h('input', { type: 'text' }),
      starts_at: h('input', { type: 'datetime-local', required: true }),
      ends_at: h('input', { type: 'datetime-local', required: true }),
      slot_capacity: h('input', { type: 'number', min: '1', value: '30' }),
      outline: h('textarea', { rows: 4 }),
    };
    const form = h('form', { class: 'form-grid', novalidate: true },
      field(t('session.kol'), kol, { name: 'kol_id' }),
      field(t('session.platform'), platform, { name: 'platform' }),
      field(t('session.title'), c.title, { name: 'title' }),
      field(t('session.room'), c.room_id, { name: 'room_id' }),
      field(t('session.startsAt'), c.starts_at, { name: 'starts_at' }),
      field(t('session.endsAt'), c.ends_at, { name: 'ends_at' }),
      field(t('session.capacity'), c.slot_capacity, { name: 'slot_capacity' }),
      field(t('session.outline'), c.outline, { name: 'outline', wide: true }),
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('sessions.create')),
        h('button', { class: 'ghost', type: 'button', onclick: () => replace(formSlot) }, t('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const errors = [];
      for (const [name, el] of [['kol_id', kol], ['platform', platform], ['title', c.title], ['starts_at', c.starts_at], ['ends_at', c.ends_at]]) {
        if (!el.value.trim()) errors.push({ field: name, message: t('common.required') });
      }
      if (errors.length) return showErrors(form, new ApiError(422, { errors }));
      const body = {
        kol_id: kol.value, platform: platform.value, title: c.title.value.trim(), room_id: c.room_id.value.trim(),
        starts_at: localDateTimeToUtc(c.starts_at.value), ends_at: localDateTimeToUtc(c.ends_at.value),
        slot_capacity: Number(c.slot_capacity.value) || undefined, outline: c.outline.value,
      };
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          const created = await api('/sessions', { method: 'POST', body });
          toast(t('sessions.created'));
          navigate(`/sessions/${created.id}`);
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(formSlot, h('section', { class: 'card', 'aria-labelledby': 'new-session-h' }, h('h2', { id: 'new-session-h' }, t('sessions.new')), form));
    kol.focus();
  };

  replace(main,
    pageHeader(t('sessions.title'), can('manage') ? h('button', { class: 'primary', type: 'button', onclick: openForm }, t('sessions.new')) : null),
    formSlot,
    h('div', { class: 'filters' }, viewSel, when, statusSel, me.kol_id ? null : kolSel, platformSel),
    list);
  update();
}
