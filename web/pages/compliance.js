// Compliance findings: banned absolute terms in copy and outlines, prices under the floor or above a
// lowest-price promise. Filter by the record they concern and by review; a manager acknowledges a
// finding (takes it on) and resolves it with a note of what was done, each step naming who.
import { api, listAll, lookups, listIfAvailable } from '../lib/api.js';
import { h, replace, pageHeader, empty, table, badge, select, busy, toast, errorBox, field, formError, showErrors } from '../lib/dom.js';
import { can } from '../app.js';
import { t, tt, coded } from '../lib/i18n.js';
import * as fmt from '../lib/format.js';

const { dateTime } = fmt;

/** A finding's message in the UI's language, from its `code` and `params`. */
export function findingText(f) {
  return coded('finding', f.code, f.params, f.message, fmt);
}

/**
 * The rules (block or warn) and the banned-term list: an admin edits them, other staff read them.
 * Terms are one per line; the server checks each (1 to 50 characters, listed once).
 */
function rulesPanel(config, me) {
  const admin = me?.role === 'admin';
  const modes = config.rules.map((r) => [r.rule, select([['block', t('mode.block')], ['warn', t('mode.warn')]], r.mode,
    { 'aria-label': tt('rule', r.rule), disabled: !admin })]);
  const terms = h('textarea', { rows: 6, value: config.banned_terms.join('\n'), readonly: admin ? null : 'readonly', spellcheck: 'false' });
  const form = h('form', { class: 'form-grid', novalidate: true },
    modes.map(([rule, sel]) => field(tt('rule', rule), sel, { name: `rules.${rule}`,
      hint: config.rules.find((r) => r.rule === rule)?.updated_by ? t('compliance.setBy', { by: config.rules.find((r) => r.rule === rule).updated_by }) : null })),
    field(t('compliance.terms', { n: config.banned_terms.length }), terms, { name: 'banned_terms', wide: true, hint: t('compliance.termsHint') }),
    formError(),
    admin ? h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('common.save'))) : null);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {
      rules: modes.map(([rule, sel]) => ({ rule, mode: sel.value })),
      banned_terms: terms.value.split('\n').map((x) => x.trim()).filter(Boolean),
    };
    await busy(form.querySelector('[type=submit]'), async () => {
      try {
        const saved = await api('/compliance/rules', { method: 'PUT', body });
        toast(t('compliance.rulesSaved'));
        form.closest('details').replaceWith(rulesPanel(saved, me));
      } catch (e) { showErrors(form, e); }
    });
  });
  return h('details', { class: 'card rules-panel' }, h('summary', null, t('compliance.rules')), form);
}

export default async function render(main, { query, me }) {
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
  const statusSel = select([['', t('compliance.allReviews')], ...['open', 'acknowledged', 'resolved'].map((x) => [x, tt('review', x)])], query.status, { 'aria-label': t('compliance.review') });
  const review = (f) => {
    const who = f.status === 'resolved'
      ? t('compliance.resolvedBy', { by: f.resolved_by, at: dateTime(f.resolved_at) })
      : f.status === 'acknowledged' ? t('compliance.acknowledgedBy', { by: f.acknowledged_by, at: dateTime(f.acknowledged_at) }) : null;
    const step = async (button, what, body) => busy(button, async () => {
      try {
        const after = await api(`/compliance/findings/${f.id}/${what}`, { method: 'POST', body });
        Object.assign(f, after);
        toast(t(`compliance.${what}d`));
        update();
      } catch (e) { button.closest('td').append(errorBox(e)); }
    });
    const actions = can('manage') && f.status !== 'resolved' ? h('span', { class: 'row-actions' },
      f.status === 'open' ? h('button', { type: 'button', class: 'secondary small', 'data-action': 'acknowledge', onclick: (ev) => step(ev.currentTarget, 'acknowledge', {}) }, t('compliance.acknowledge')) : null,
      h('button', { type: 'button', class: 'secondary small', 'data-action': 'resolve', onclick: (ev) => {
        const note = window.prompt(t('compliance.resolveNote'));
        if (note && note.trim()) step(ev.currentTarget, 'resolve', { note });
      } }, t('compliance.resolve'))) : null;
    return h('div', { class: 'review', 'data-status': f.status },
      badge(tt('review', f.status), { open: 'warn', acknowledged: 'info', resolved: 'good' }[f.status]),
      who ? h('small', { class: 'muted' }, ` ${who}`) : null,
      f.resolution_note ? h('p', { class: 'muted' }, f.resolution_note) : null,
      actions);
  };
  const list = h('div');
  const entityLink = (f) => {
    const label = names[f.entity_type]?.get(f.entity_id);
    const href = { contract: `/contracts/${f.entity_id}`, session: `/sessions/${f.entity_id}` }[f.entity_type];
    const text = `${tt('entity', f.entity_type)} · ${label || String(f.entity_id).slice(-8)}`;
    return href ? h('a', { href }, text) : text;
  };
  const update = () => {
    const rows = findings.filter((f) => (!typeSel.value || f.entity_type === typeSel.value) && (!statusSel.value || f.status === statusSel.value))
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    replace(list, rows.length ? table([
      { label: t('compliance.when'), cell: (f) => dateTime(f.created_at) },
      { label: t('compliance.entity'), cell: entityLink },
      { label: t('compliance.rule'), cell: (f) => badge(tt('rule', f.rule), f.mode === 'block' ? 'bad' : 'warn') },
      { label: t('compliance.term'), cell: (f) => (f.term ? h('mark', null, f.term) : '—') },
      { label: t('compliance.message'), cell: (f) => findingText(f) },
      { label: t('compliance.review'), cell: review },
    ], rows, { caption: t('compliance.title'), rowAttrs: (f) => ({ 'data-finding': f.id }) }) : empty(t('compliance.none')));
  };
  typeSel.addEventListener('change', update);
  statusSel.addEventListener('change', update);
  const config = await api('/compliance/rules').catch(() => null);
  replace(main, pageHeader(t('compliance.title')),
    config ? rulesPanel(config, me) : null,
    query.entity_id ? h('p', { class: 'notice' }, t('compliance.filtered'), ' ', h('a', { href: '/compliance' }, t('compliance.clearFilter'))) : null,
    h('div', { class: 'filters' }, typeSel, statusSel), list);
  update();
}
