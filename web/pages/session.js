// One session: schedule, run-of-show outline (by the agency's checklist), lineup (with its
// editor), and its compliance findings.
import { api, lookups, byId, listAll, listIfAvailable } from '../lib/api.js';
import { h, replace, pageHeader, badge, table, empty, field, formError, showErrors, busy, toast, select } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan, dateTime, time, localDateTimeToUtc, utcToLocalDateTime } from '../lib/format.js';
import { SESSION_STATUSES } from './sessions.js';
import { outlineView, outlineEditor } from './run-of-show.js';
import { openLineupEditor } from './lineup-editor.js';
import { findingText } from './compliance.js';

export default async function render(main, { params, can }) {
  const [kols, products, brands] = await Promise.all([lookups.kols(), lookups.products(), lookups.brands()]);
  const kolById = byId(kols);
  const productById = byId(products);
  const brandById = byId(brands);
  let s = await api(`/sessions/${params.id}`);
  const loadFindings = () => listIfAvailable('/compliance/findings', { entity_id: params.id }).catch(() => null);
  let findings = await loadFindings();
  const open = !['ended', 'cancelled'].includes(s.status);

  const draw = () => {
    const kol = kolById.get(s.kol_id);
    const lineup = [...s.lineup].sort((a, b) => a.position - b.position);
    const editSlot = h('div');
    const lineupSlot = h('div');
    replace(main,
      pageHeader(s.title, badge(tt('sstatus', s.status), `ss-${s.status}`),
        can('manage') ? h('button', { type: 'button', onclick: () => openEdit(editSlot) }, t('common.edit')) : null),
      h('p', { class: 'breadcrumb' }, h('a', { href: '/sessions' }, `← ${t('sessions.title')}`)),
      editSlot,
      h('div', { class: 'two-col' },
        h('section', { class: 'card', 'aria-labelledby': 'sched-h' },
          h('h2', { id: 'sched-h' }, t('session.schedule')),
          h('dl', { class: 'terms' },
            h('div', null, h('dt', null, t('session.kol')), h('dd', null, kol?.name || t('common.unknown'))),
            h('div', null, h('dt', null, t('session.platform')), h('dd', null, tt('platform', s.platform))),
            h('div', null, h('dt', null, t('session.room')), h('dd', null, s.room_id || '—')),
            h('div', null, h('dt', null, t('session.time')), h('dd', null, `${dateTime(s.starts_at)} – ${time(s.ends_at)}`)),
            h('div', null, h('dt', null, t('session.slots')), h('dd', null, t('sessions.slots', { n: s.lineup.length, cap: s.slot_capacity }))))),
        h('section', { class: 'card', 'aria-labelledby': 'outline-h' },
          h('h2', { id: 'outline-h' }, t('session.outline')),
          s.outline ? h('div', { class: 'outline' }, outlineView(s.outline)) : h('p', { class: 'muted' }, t('session.noOutline')),
          findings ? findingList(findings) : null)),
      lineupSlot,
      h('section', { class: 'card', 'aria-labelledby': 'lineup-h' },
        h('div', { class: 'card-head' }, h('h2', { id: 'lineup-h' }, t('session.lineup')),
          can('manage') && open ? h('button', { type: 'button', onclick: () => openLineup(lineupSlot) }, t('lineup.edit')) : null),
        lineup.length ? table([
          { label: '#', class: 'num', cell: (l) => String(l.position) },
          { label: t('lineup.product'), cell: (l) => productById.get(l.product_id)?.name || l.product_id },
          { label: t('lineup.brand'), cell: (l) => brandById.get(productById.get(l.product_id)?.brand_id)?.name || '—' },
          { label: t('lineup.livePrice'), class: 'num', cell: (l) => yuan(l.live_price_fen) },
          { label: t('lineup.floor'), class: 'num', cell: (l) => { const p = productById.get(l.product_id); return p ? yuan(p.floor_price_fen) : '—'; } },
          { label: t('lineup.units'), class: 'num', cell: (l) => String(l.units) },
          { label: t('lineup.contract'), cell: (l) => h('a', { href: `/contracts/${l.contract_id}` }, t('lineup.view')) },
        ], lineup, { caption: t('session.lineup') }) : empty(t('session.noLineup'),
          can('preview') ? h('a', { href: '/allocation', class: 'button' }, t('session.allocate')) : null)));
  };

  const openLineup = async (slot) => {
    const [contracts, sessions] = await Promise.all([listAll('/contracts'), listAll('/sessions')]);
    openLineupEditor(slot, s, {
      products, contracts, sessions, brandById,
      onSaved: async (saved) => { s = saved; findings = await loadFindings(); draw(); },
      onCancel: () => replace(slot),
    });
  };

  const openEdit = (slot) => {
    const c = {
      title: h('input', { type: 'text', value: s.title }),
      room_id: h('input', { type: 'text', value: s.room_id }),
      starts_at: h('input', { type: 'datetime-local', value: utcToLocalDateTime(s.starts_at) }),
      ends_at: h('input', { type: 'datetime-local', value: utcToLocalDateTime(s.ends_at) }),
      status: select(SESSION_STATUSES.map((x) => [x, tt('sstatus', x)]), s.status),
    };
    const outline = outlineEditor(s.outline);
    const form = h('form', { class: 'form-grid card', novalidate: true },
      field(t('session.title'), c.title, { name: 'title' }),
      field(t('session.room'), c.room_id, { name: 'room_id' }),
      field(t('session.startsAt'), c.starts_at, { name: 'starts_at' }),
      field(t('session.endsAt'), c.ends_at, { name: 'ends_at' }),
      field(t('session.status'), c.status, { name: 'status' }),
      outline.element,
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('common.save')),
        h('button', { class: 'ghost', type: 'button', onclick: () => replace(slot) }, t('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const body = {};
      for (const k of ['title', 'room_id', 'status']) if (c[k].value !== s[k]) body[k] = c[k].value;
      if (outline.value() !== s.outline) body.outline = outline.value();
      for (const k of ['starts_at', 'ends_at']) {
        const v = localDateTimeToUtc(c[k].value);
        if (v && utcToLocalDateTime(v) !== utcToLocalDateTime(s[k])) body[k] = v;
      }
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          s = await api(`/sessions/${s.id}`, { method: 'PATCH', body });
          toast(t('common.saved'));
          draw();
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(slot, form);
    c.title.focus();
  };

  draw();
}

export function findingList(findings) {
  if (!findings.length) return h('p', { class: 'ok-note' }, t('compliance.clean'));
  return h('ul', { class: 'findings' }, findings.map((f) => h('li', { class: `finding sev-${f.severity || 'warn'}` },
    h('strong', null, f.rule ? tt('rule', f.rule) : t('compliance.finding')), ' ',
    f.term ? h('mark', null, f.term) : null, ' ',
    h('span', null, findingText(f)))));
}
