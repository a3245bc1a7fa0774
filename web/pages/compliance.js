// Compliance findings: banned absolute terms in copy and outlines, prices under the floor or above a
// lowest-price promise. Filter by the record they concern.
import { listAll, lookups, listIfAvailable } from '../lib/api.js';
import { h, replace, pageHeader, empty, table, badge, select } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { dateTime } from '../lib/format.js';

export default async function render(main, { query }) {
  let findings;
  try {
    findings = await listAll('/compliance/findings', { entity_id: query.entity_id });
  } catch (e) {
    if (e.status !== 404) throw e;
    return replace(main, pageHeader(t('compliance.title')), h('p', { class: 'notice' }, t('compliance.unavailable')));
  }
  const [products, sessions, contracts] = await Promise.all([
    lookups.products().catch(() => []), listIfAvailable('/sessions'), listIfAvailable('/contracts')]);
  const names = {
    product: new Map(products.map((p) => [p.id, p.name])),
    session: new Map((sessions || []).map((x) => [x.id, x.title])),
    contract: new Map((contracts || []).map((x) => [x.id, `v${x.version} · ${x.platform}`])),
  };
  const types = [...new Set(findings.map((f) => f.entity_type))].sort();
  const typeSel = select([['', t('compliance.allTypes')], ...types.map((x) => [x, tt('entity', x)])], query.type, { 'aria-label': t('compliance.type') });
  const list = h('div');
  const entityLink = (f) => {
    const label = names[f.entity_type]?.get(f.entity_id);
    const href = { contract: `/contracts/${f.entity_id}`, session: `/sessions/${f.entity_id}` }[f.entity_type];
    const text = `${tt('entity', f.entity_type)} · ${label || String(f.entity_id).slice(-8)}`;
    return href ? h('a', { href }, text) : text;
  };
  const update = () => {
    const rows = findings.filter((f) => !typeSel.value || f.entity_type === typeSel.value)
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    replace(list, rows.length ? table([
      { label: t('compliance.when'), cell: (f) => dateTime(f.created_at) },
      { label: t('compliance.entity'), cell: entityLink },
      { label: t('compliance.rule'), cell: (f) => badge(tt('rule', f.rule), f.mode === 'block' ? 'bad' : 'warn') },
      { label: t('compliance.term'), cell: (f) => (f.term ? h('mark', null, f.term) : '—') },
      { label: t('compliance.message'), cell: (f) => f.message },
    ], rows, { caption: t('compliance.title') }) : empty(t('compliance.none')));
  };
  typeSel.addEventListener('change', update);
  replace(main, pageHeader(t('compliance.title')),
    query.entity_id ? h('p', { class: 'notice' }, t('compliance.filtered'), ' ', h('a', { href: '/compliance' }, t('compliance.clearFilter'))) : null,
    h('div', { class: 'filters' }, typeSel), list);
  update();
}
