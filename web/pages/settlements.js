// Settlements: per contract and period, computed on request, approved once.
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

  const rows = [...settlements].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  replace(main,
    pageHeader(t('settle.title'), can('settle') ? h('button', { class: 'primary', type: 'button', onclick: openForm }, t('settle.new')) : null),
    formSlot,
    rows.length ? table([
      { label: t('settle.parties'), cell: (s) => h('a', { href: `/settlements/${s.id}` }, parties(s)) },
      { label: t('settle.period'), cell: (s) => `${period(s.period_start, s.period_end)}` },
      { label: t('settle.netGmv'), class: 'num', cell: (s) => yuan(s.totals?.net_gmv_fen ?? s.net_gmv_fen) },
      { label: t('settle.commission'), class: 'num', cell: (s) => yuan(s.totals?.commission_fen ?? s.commission_fen) },
      { label: t('settle.kolPayable'), class: 'num', cell: (s) => yuan(s.totals?.kol_payable_fen ?? s.kol_payable_fen) },
      { label: t('settle.status'), cell: (s) => badge(tt('settle', s.status), s.status === 'approved' ? 'good' : s.status === 'superseded' ? 'muted' : 'info') },
    ], rows, { caption: t('settle.title') }) : empty(t('settle.none')));
  if (query.new === '1' && can('settle')) openForm();
}
