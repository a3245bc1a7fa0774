// Allocation: pick a strategy, preview the product x KOL matrix with violations, apply it.
import { api, lookups, byId, listIfAvailable, invalidate } from '../lib/api.js';
import { h, replace, pageHeader, field, formError, showErrors, busy, toast, select, clearErrors, empty, badge, table } from '../lib/dom.js';
import { t, tt, coded } from '../lib/i18n.js';
import * as fmt from '../lib/format.js';
import { findingText } from './compliance.js';

const { yuan, int } = fmt;

const TIER_ORDER = { head: 0, waist: 1, tail: 2 };

export default async function render(main, { can, query }) {
  const [scripts, plugins, kols, products, brands, sessions] = await Promise.all([
    api('/scripts').then((r) => r.items),
    can('plugins') ? listIfAvailable('/plugins') : Promise.resolve(null),
    lookups.kols(), lookups.products(), lookups.brands(),
    api('/sessions', { query: { limit: 500 } }).then((r) => r.items),
  ]);
  const kolById = byId(kols);
  const productById = byId(products);
  const brandById = byId(brands);
  const sessionById = byId(sessions);

  const options = [
    ...scripts.map((s) => [`script:${s.name}`, `${t('alloc.script')} · ${s.name} (v${s.version})`]),
    ...(plugins || []).filter((p) => p.world === 'allocator').map((p) => [`plugin:${p.name}`, `${t('alloc.plugin')} · ${p.name} ${p.version}`]),
  ];
  const strategy = select(options, query.strategy ? `script:${query.strategy}` : options.find(([v]) => v === 'script:pyramid')?.[0]);
  const paramsBox = h('textarea', { rows: 3, spellcheck: 'false', class: 'code', value: '{}' });
  const previewBtn = h('button', { class: 'primary', type: 'submit' }, t('alloc.preview'));
  const applyBtn = h('button', { type: 'button', disabled: true, class: 'apply' }, t('alloc.apply'));
  const form = h('form', { class: 'form-grid card', novalidate: true },
    field(t('alloc.strategy'), strategy, { name: 'strategy', hint: t('alloc.strategyHint') }),
    field(t('alloc.params'), paramsBox, { name: 'params', hint: t('alloc.paramsHint') }),
    formError(),
    h('div', { class: 'form-actions' }, previewBtn, can('apply') ? applyBtn : h('span', { class: 'muted' }, t('alloc.previewOnly'))));
  const result = h('div', { class: 'alloc-result', 'aria-live': 'polite' });
  let last = null;

  const request = (apply) => {
    clearErrors(form);
    let params;
    try {
      params = JSON.parse(paramsBox.value.trim() || '{}');
      if (typeof params !== 'object' || Array.isArray(params) || params === null) throw new Error(t('alloc.paramsObject'));
    } catch (e) {
      showErrors(form, { errors: [{ field: 'params', message: e.message }] });
      return null;
    }
    const [kind, name] = strategy.value.split(/:(.*)/s);
    return { strategy: { [kind]: name }, params, apply };
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = request(false);
    if (!body) return;
    applyBtn.disabled = true;
    await busy(previewBtn, async () => {
      replace(result, h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('alloc.running')));
      try {
        last = { body, outcome: await api('/allocations', { method: 'POST', body }) };
        drawResult(last.outcome);
        applyBtn.disabled = last.outcome.violations.length > 0 || last.outcome.assignments.length === 0;
      } catch (e) {
        replace(result);
        showErrors(form, mapStrategyErrors(e));
      }
    });
  });

  applyBtn.addEventListener('click', async () => {
    if (!last) return;
    const body = { ...last.body, apply: true };
    await busy(applyBtn, async () => {
      try {
        const outcome = await api('/allocations', { method: 'POST', body });
        invalidate('sessions');
        drawResult(outcome);
        if (outcome.applied) toast(t('alloc.applied', { n: outcome.assignments.length }));
      } catch (e) {
        showErrors(form, mapStrategyErrors(e));
        if (e.problem?.violations) drawResult({ ...last.outcome, violations: e.problem.violations });
      }
    });
    applyBtn.disabled = true;
  });

  function drawResult(o) {
    const bad = new Map();
    for (const v of o.violations) if (v.index !== null && v.index !== undefined) {
      if (!bad.has(v.index)) bad.set(v.index, []);
      bad.get(v.index).push(v);
    }
    const units = o.assignments.reduce((s, a) => s + a.units, 0);
    const gmvPlan = o.assignments.reduce((s, a) => s + a.units * a.live_price_fen, 0);
    replace(result,
      h('div', { class: 'summary' },
        o.applied ? h('p', { class: 'ok-note', role: 'status' }, t('alloc.appliedNote')) : null,
        h('dl', { class: 'figures wide' },
          h('div', null, h('dt', null, t('alloc.assignments')), h('dd', { class: 'num', 'data-figure': 'assignments' }, int(o.assignments.length))),
          h('div', null, h('dt', null, t('alloc.units')), h('dd', { class: 'num' }, int(units))),
          h('div', null, h('dt', null, t('alloc.plannedGmv')), h('dd', { class: 'num' }, yuan(gmvPlan))),
          h('div', { class: o.violations.length ? 'bad' : 'good' }, h('dt', null, t('alloc.violations')), h('dd', { class: 'num', 'data-figure': 'violations' }, int(o.violations.length))))),
      o.notes?.length ? h('ul', { class: 'notes', 'aria-label': t('alloc.notes') }, o.notes.map((n) => h('li', null, n))) : null,
      o.assignments.length ? matrix(o.assignments, bad) : empty(t('alloc.noAssignments')),
      o.violations.length ? h('section', { class: 'card violations', 'aria-labelledby': 'viol-h' },
        h('h2', { id: 'viol-h' }, t('alloc.violationList')),
        table([
          { label: '#', class: 'num', cell: (v) => (v.index ?? '—').toString() },
          { label: t('alloc.rule'), cell: (v) => badge(tt('violation', v.code), 'bad') },
          { label: t('alloc.where'), cell: (v) => where(o.assignments[v.index]) },
          { label: t('alloc.message'), cell: (v) => coded('violationHow', v.code, v.params, v.message, fmt) },
        ], o.violations)) : null,
      o.findings?.length ? h('section', { class: 'card preview-findings', 'aria-labelledby': 'pf-h' },
        h('h2', { id: 'pf-h' }, t('alloc.findings', { n: o.findings.length })),
        h('p', { class: 'muted' }, t('alloc.findingsHint')),
        table([
          { label: t('alloc.session'), cell: (f) => h('a', { href: `/sessions/${f.session_id}` }, sessionById.get(f.session_id)?.title || f.session_id) },
          { label: t('compliance.rule'), cell: (f) => badge(tt('rule', f.rule), 'warn') },
          { label: t('compliance.message'), cell: findingText },
        ], o.findings, { rowAttrs: (f) => ({ 'data-finding-code': f.code }) })) : null,
      o.findings_truncated ? h('p', { class: 'notice' }, t('alloc.findingsTruncated')) : null,
      o.logs?.length ? h('details', { class: 'logs' }, h('summary', null, t('alloc.logs', { n: o.logs.length })), h('pre', null, o.logs.join('\n'))) : null);
  }

  function where(a) {
    if (!a) return '—';
    return `${productById.get(a.product_id)?.name || a.product_id} → ${kolById.get(a.kol_id)?.name || a.kol_id}`;
  }

  function matrix(assignments, bad) {
    const kolIds = [...new Set(assignments.map((a) => a.kol_id))].sort((a, b) => {
      const ka = kolById.get(a); const kb = kolById.get(b);
      return (TIER_ORDER[ka?.tier] ?? 9) - (TIER_ORDER[kb?.tier] ?? 9) || (ka?.name || a).localeCompare(kb?.name || b);
    });
    const productIds = [...new Set(assignments.map((a) => a.product_id))].sort((a, b) => {
      const pa = productById.get(a); const pb = productById.get(b);
      return (brandById.get(pa?.brand_id)?.name || '').localeCompare(brandById.get(pb?.brand_id)?.name || '') || (pa?.name || a).localeCompare(pb?.name || b);
    });
    const cells = new Map();
    assignments.forEach((a, i) => {
      const key = `${a.product_id}|${a.kol_id}`;
      if (!cells.has(key)) cells.set(key, []);
      cells.get(key).push([a, i]);
    });
    return h('section', { class: 'card', 'aria-labelledby': 'matrix-h' },
      h('h2', { id: 'matrix-h' }, t('alloc.matrix')),
      h('p', { class: 'hint' }, t('alloc.matrixHint')),
      h('div', { class: 'table-wrap matrix-wrap' }, h('table', { class: 'matrix' },
        h('thead', null, h('tr', null, h('th', { scope: 'col', class: 'corner' }, t('alloc.productKol')),
          kolIds.map((k) => h('th', { scope: 'col' }, kolById.get(k)?.name || k, h('br'), h('small', null, tt('tier', kolById.get(k)?.tier)))))),
        h('tbody', null, productIds.map((p) => {
          const prod = productById.get(p);
          return h('tr', null,
            h('th', { scope: 'row' }, prod?.name || p, h('br'), h('small', null, `${brandById.get(prod?.brand_id)?.name || ''} · ${t('alloc.floor')} ${prod ? yuan(prod.floor_price_fen) : '—'}`)),
            kolIds.map((k) => {
              const here = cells.get(`${p}|${k}`);
              if (!here) return h('td', { class: 'blank' }, '');
              const problems = here.flatMap(([, i]) => bad.get(i) || []);
              return h('td', { class: problems.length ? 'violation' : 'assigned', title: problems.map((v) => v.message).join('\n') || here.map(([a]) => a.reason).filter(Boolean).join('\n') },
                here.map(([a]) => h('div', { class: 'cell' },
                  h('strong', null, t('alloc.unitsShort', { n: a.units })),
                  h('span', null, ` @ ${yuan(a.live_price_fen)}`),
                  sessionById.get(a.session_id) ? h('small', null, sessionById.get(a.session_id).title) : null)),
                problems.length ? h('span', { class: 'sr-only' }, `${t('alloc.violation')}: ${problems.map((v) => v.message).join('; ')}`) : null);
            }));
        })))));
  }

  replace(main, pageHeader(t('alloc.title')), h('p', { class: 'muted intro' }, t('alloc.intro')), form, result);
}

/** The server names strategy fields `strategy.script` / `strategy.plugin`; the form has one. */
function mapStrategyErrors(e) {
  const errors = (e.errors || []).map((fe) => (fe.field.startsWith('strategy') ? { ...fe, field: 'strategy' } : fe.field === 'source' ? { ...fe, field: 'strategy' } : fe));
  return Object.assign(Object.create(Object.getPrototypeOf(e)), e, { errors });
}
