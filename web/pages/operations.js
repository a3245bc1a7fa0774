// Operations: the audit trail (who changed what, before and after) and the webhook deliveries as
// received (accepted, or refused with the reason), newest first, filterable.
import { listAll } from '../lib/api.js';
import { h, replace, pageHeader, empty, table, badge, select, errorBox, loading } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { dateTime } from '../lib/format.js';

const MAX = 5000;

export default async function render(main, { query }) {
  const tab = query.tab === 'deliveries' ? 'deliveries' : 'audit';
  const tabs = h('nav', { class: 'tabs', 'aria-label': t('ops.title') },
    [['audit', t('ops.audit')], ['deliveries', t('ops.deliveries')]].map(([key, label]) =>
      h('a', { href: `/operations?tab=${key}`, class: key === tab ? 'active' : '', 'aria-current': key === tab ? 'page' : null }, label)));
  const body = h('div', null, loading());
  replace(main, pageHeader(t('ops.title')), tabs, body);
  try {
    replace(body, tab === 'audit' ? await auditTrail(query) : await deliveries(query));
  } catch (e) {
    replace(body, errorBox(e));
  }
}

async function auditTrail(query) {
  const events = (await listAll('/audit', { entity_id: query.entity_id || undefined }, { max: MAX })).reverse();
  const actions = [...new Set(events.map((e) => e.action))].sort();
  const actionSel = select([['', t('ops.allActions')], ...actions.map((a) => [a, a])], query.action, { 'aria-label': t('ops.action') });
  const search = h('input', { type: 'search', placeholder: t('ops.searchActor'), 'aria-label': t('ops.searchActor'), value: query.q || '' });
  const list = h('div');
  const update = () => {
    const q = search.value.trim().toLowerCase();
    const rows = events.filter((e) => (!actionSel.value || e.action === actionSel.value) &&
      (!q || e.actor.toLowerCase().includes(q) || String(e.entity_id).includes(q)));
    replace(list, rows.length ? table([
      { label: t('ops.when'), cell: (e) => dateTime(e.at) },
      { label: t('ops.actor'), cell: (e) => [e.actor, ' ', badge(tt('role', e.actor_role), 'info')] },
      { label: t('ops.action'), cell: (e) => h('code', null, e.action) },
      { label: t('ops.entity'), cell: (e) => `${tt('entity', e.entity_type)} · ${String(e.entity_id).slice(-8)}` },
      { label: t('ops.changes'), cell: (e) => changes(e.before, e.after) },
    ], rows.slice(0, 500), { caption: t('ops.audit'), rowAttrs: (e) => ({ 'data-action': e.action }) }) : empty(t('ops.noEvents')));
  };
  actionSel.addEventListener('change', update);
  search.addEventListener('input', update);
  update();
  return [h('div', { class: 'filters' }, actionSel, search), list];
}

/** The top-level fields that differ between before and after (all of them for a creation). */
function changes(before, after) {
  if (!after) return '—';
  const keys = Object.keys(after).filter((k) => !['updated_at', 'created_at'].includes(k) &&
    JSON.stringify(before?.[k]) !== JSON.stringify(after[k]));
  if (!keys.length) return t('ops.noChange');
  const show = (v) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return h('ul', { class: 'changes' }, keys.slice(0, 8).map((k) => h('li', null, h('code', null, k), ': ',
    before ? [h('del', null, show(before[k])), ' → '] : null, h('ins', null, show(after[k])))));
}

async function deliveries(query) {
  const items = (await listAll('/webhook-deliveries', {}, { max: MAX })).reverse();
  const statusSel = select([['', t('common.allStatuses')], ...['accepted', 'rejected', 'malformed', 'failed'].map((s) => [s, tt('delivery', s)])], query.status, { 'aria-label': t('ops.status') });
  const platforms = [...new Set(items.map((d) => d.platform))].sort();
  const platformSel = select([['', t('common.allPlatforms')], ...platforms.map((p) => [p, tt('platform', p)])], query.platform, { 'aria-label': t('orders.platform') });
  const list = h('div');
  const kind = { accepted: 'good', rejected: 'bad', malformed: 'warn', failed: 'bad' };
  const update = () => {
    const rows = items.filter((d) => (!statusSel.value || d.status === statusSel.value) && (!platformSel.value || d.platform === platformSel.value));
    replace(list, rows.length ? table([
      { label: t('ops.received'), cell: (d) => dateTime(d.received_at) },
      { label: t('orders.platform'), cell: (d) => badge(tt('platform', d.platform), `pf-${d.platform}`) },
      { label: t('ops.status'), cell: (d) => badge(tt('delivery', d.status), kind[d.status]) },
      { label: t('ops.events'), class: 'num', cell: (d) => `${d.new_events}/${d.events}` },
      { label: t('ops.size'), class: 'num', cell: (d) => `${Math.ceil(d.body_bytes / 1024)} KiB` },
      { label: t('ops.reason'), cell: (d) => d.error || '—' },
    ], rows.slice(0, 500), { caption: t('ops.deliveries'), rowAttrs: (d) => ({ 'data-status': d.status }) }) : empty(t('ops.noDeliveries')));
  };
  statusSel.addEventListener('change', update);
  platformSel.addEventListener('change', update);
  update();
  return [h('div', { class: 'filters' }, statusSel, platformSel), h('p', { class: 'hint' }, t('ops.deliveriesHint')), list];
}
