// Settlements: per contract and period, computed on request or as the month-end batch (every
// contract with activity in a month of China Standard Time), reviewed, approved once.
import { api, listAll, lookups, byId, ApiError } from '../lib/api.js';
import { h, replace, pageHeader, field, formError, showErrors, busy, toast, badge, empty, table, select } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan, date, localDateToUtc, dayKey, period } from '../lib/format.js';

export default async function render(main, { can, navigate, query }) {
  const [brands, kols] = await Promise.all([lookups.brands(), lookups.kols()]);
  const brandById = byId(brands);
  const kolById = byId(kols);
  let settlements;
  try {
    settlements = await listAll('/settlements');
  } catch (e) {
    if (e.status !== 404) throw e;
    return replace(main, pageHeader(t('settle.title')), h('p', { class: 'notice' }, t('settle.unavailable')));
  }
  const formSlot = h('div');
  const parties = (x) => `${brandById.get(x.brand_id)?.name || t('common.unknown')} × ${kolById.get(x.kol_id)?.name || t('common.unknown')}`;

  const openForm = async () => {
    const contracts = (await listAll('/contracts')).filter((c) => ['signed', 'active', 'completed', 'terminated'].includes(c.status));
    const contract = select([['', t('common.choose')], ...contracts.map((c) => [c.id, `${parties(c)} · ${tt('platform', c.platform)} · ${tt('status', c.status)}`])], query.contract_id || '');
    const start = h('input', { type: 'date', value: dayKey(-30) });
    const end = h('input', { type: 'date', value: dayKey(1) });
    const form = h('form', { class: 'form-grid card', novalidate: true },
      h('h2', { class: 'wide' }, t('settle.new')),
      field(t('settle.contract'), contract, { name: 'contract_id', wide: true }),
      field(t('settle.periodStart'), start, { name: 'period_start' }),
      field(t('settle.periodEnd'), end, { name: 'period_end' }),
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('settle.compute')),
        h('button', { class: 'ghost', type: 'button', onclick: () => replace(formSlot) }, t('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const errors = [['contract_id', contract], ['period_start', start], ['period_end', end]]
        .filter(([, el]) => !el.value).map(([f]) => ({ field: f, message: t('common.required') }));
      if (errors.length) return showErrors(form, new ApiError(422, { errors }));
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          const s = await api('/settlements', { method: 'POST', body: { contract_id: contract.value, period_start: localDateToUtc(start.value), period_end: localDateToUtc(end.value) } });
          toast(t('settle.computedToast'));
          navigate(`/settlements/${s.id}`);
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(formSlot, form);
    contract.focus();
  };

  // Month-end: drafts for every contract with activity in a CST month.
  const openBatch = () => {
    const now = new Date(Date.now() + 8 * 3_600_000);
    const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const month = h('input', { type: 'month', value: `${last.getUTCFullYear()}-${String(last.getUTCMonth() + 1).padStart(2, '0')}`, required: true });
    const result = h('div', { class: 'batch-result', 'aria-live': 'polite' });
    const form = h('form', { class: 'form-grid card', novalidate: true },
      h('h2', { class: 'wide' }, t('settle.batch')),
      h('p', { class: 'wide muted' }, t('settle.batchHint')),
      field(t('settle.month'), month, { name: 'period_start' }),
      h('p', { class: 'field-error', 'data-error-for': 'period_end' }),
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('settle.batchRun')),
        h('button', { class: 'ghost', type: 'button', onclick: () => replace(formSlot) }, t('common.cancel'))),
      result);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const m = /^(\d{4})-(\d{2})$/.exec(month.value);
      if (!m) return showErrors(form, new ApiError(422, { errors: [{ field: 'period_start', message: t('common.required') }] }));
      const [y, mo] = [Number(m[1]), Number(m[2])];
      // Midnight in China (UTC+8, no daylight saving) of the month's first day and the next's.
      const cst = (yy, mm) => new Date(Date.UTC(yy, mm - 1, 1) - 8 * 3_600_000).toISOString().replace('.000Z', 'Z');
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          const out = await api('/settlements/batch', { method: 'POST', body: { period_start: cst(y, mo), period_end: cst(mo === 12 ? y + 1 : y, mo === 12 ? 1 : mo + 1) } });
          toast(t('settle.batchDone', { n: out.created.length }));
          settlements.push(...out.created);
          drawList();
          replace(result,
            out.created.length ? h('section', null, h('h3', null, t('settle.batchCreated', { n: out.created.length })),
              h('ul', { class: 'batch-created' }, out.created.map((s) => h('li', null, h('a', { href: `/settlements/${s.id}` }, parties(s)),
                ` · ${yuan(s.totals?.brand_payable_fen)} / ${yuan(s.totals?.kol_payable_fen)}`)))) : h('p', { class: 'muted' }, t('settle.batchNone')),
            out.skipped.length ? h('details', null, h('summary', null, t('settle.batchSkipped', { n: out.skipped.length })),
              h('ul', null, out.skipped.map((k) => h('li', { 'data-reason': k.reason_code }, h('a', { href: `/contracts/${k.contract_id}` }, t('settle.contract')), ' ', tt('skip', k.reason_code))))) : null);
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(formSlot, form);
    month.focus();
  };

  // The month's labour-remuneration withholding declaration (扣缴申报), as the tax bureau's sheet.
  const openDeclaration = () => {
    const now = new Date(Date.now() + 8 * 3_600_000);
    const month = h('input', { type: 'month', value: `${now.getUTCFullYear()}-${String(now.getUTCMonth() + 1).padStart(2, '0')}`, required: true });
    const format = select([['xlsx', 'XLSX'], ['csv', 'CSV']], 'xlsx', { 'aria-label': t('settle.format') });
    const form = h('form', { class: 'form-grid card', novalidate: true },
      h('h2', { class: 'wide' }, t('settle.declaration')),
      h('p', { class: 'wide muted' }, t('settle.declarationHint')),
      field(t('settle.month'), month, { name: 'month' }),
      field(t('settle.format'), format, { name: 'format' }),
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('settle.download')),
        h('button', { class: 'ghost', type: 'button', onclick: () => replace(formSlot) }, t('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          const res = await api('/reports/withholding', { query: { month: month.value, format: format.value }, raw: true });
          const a = h('a', { href: URL.createObjectURL(await res.blob()), download: `withholding-${month.value}.${format.value}` });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(formSlot, form);
    month.focus();
  };

  const listSlot = h('div');
  const statusSel = select([['', t('common.allStatuses')], ...['draft', 'approved', 'superseded'].map((x) => [x, tt('settle', x)])], query.status, { 'aria-label': t('settle.status') });
  const search = h('input', { type: 'search', placeholder: t('settle.search'), 'aria-label': t('settle.search'), value: query.q || '' });
  const drawList = () => {
    const q = search.value.trim().toLowerCase();
    const rows = settlements.filter((s) => (!statusSel.value || s.status === statusSel.value) && (!q || parties(s).toLowerCase().includes(q)))
      .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
    replace(listSlot, rows.length ? settlementTable(rows) : empty(settlements.length ? t('settle.noMatch') : t('settle.none')));
  };
  statusSel.addEventListener('change', drawList);
  search.addEventListener('input', drawList);

  const settlementTable = (rows) => table([
      { label: t('settle.parties'), cell: (s) => h('a', { href: `/settlements/${s.id}` }, parties(s)) },
      { label: t('settle.period'), cell: (s) => `${period(s.period_start, s.period_end)}` },
      { label: t('settle.netGmv'), class: 'num', cell: (s) => yuan(s.totals?.net_gmv_fen ?? s.net_gmv_fen) },
      { label: t('settle.commission'), class: 'num', cell: (s) => yuan(s.totals?.commission_fen ?? s.commission_fen) },
      { label: t('settle.kolPayable'), class: 'num', cell: (s) => yuan(s.totals?.kol_payable_fen ?? s.kol_payable_fen) },
      { label: t('settle.status'), cell: (s) => badge(tt('settle', s.status), s.status === 'approved' ? 'good' : s.status === 'superseded' ? 'muted' : 'info') },
    ], rows, { caption: t('settle.title'), rowAttrs: (s) => ({ 'data-settlement': s.id }) });

  replace(main,
    pageHeader(t('settle.title'), can('settle') ? [
      h('button', { type: 'button', onclick: openDeclaration }, t('settle.declaration')),
      h('button', { type: 'button', onclick: openBatch }, t('settle.batch')),
      h('button', { class: 'primary', type: 'button', onclick: openForm }, t('settle.new'))] : null),
    formSlot,
    h('div', { class: 'filters' }, statusSel, search),
    listSlot);
  drawList();
  if (query.new === '1' && can('settle')) openForm();
}
