// Contracts: the list with filters, and drafting a new one.
import { api, listAll, lookups, byId, ApiError } from '../lib/api.js';
import { h, replace, empty, select, pageHeader, badge, table, showErrors, busy, toast } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan, pct, date } from '../lib/format.js';
import { contractForm } from './contract-form.js';

export const STATUSES = ['draft', 'proposed', 'signed', 'active', 'completed', 'cancelled', 'terminated'];

export default async function render(main, { query, navigate, can }) {
  const [contracts, brands, kols] = await Promise.all([listAll('/contracts'), lookups.brands(), lookups.kols()]);
  const brandById = byId(brands);
  const kolById = byId(kols);

  const statusSel = select([['', t('common.allStatuses')], ...STATUSES.map((s) => [s, tt('status', s)])], query.status, { 'aria-label': t('contract.status') });
  const brandSel = select([['', t('common.allBrands')], ...brands.map((b) => [b.id, b.name])], query.brand_id, { 'aria-label': t('contract.brand') });
  const kolSel = select([['', t('common.allKols')], ...kols.map((k) => [k.id, k.name])], query.kol_id, { 'aria-label': t('contract.kol') });
  const list = h('div');
  const formSlot = h('div');

  const update = () => {
    const params = new URLSearchParams();
    for (const [k, el] of [['status', statusSel], ['brand_id', brandSel], ['kol_id', kolSel]]) if (el.value) params.set(k, el.value);
    history.replaceState(null, '', `/contracts${params.toString() ? `?${params}` : ''}`);
    const rows = contracts.filter((c) =>
      (!statusSel.value || c.status === statusSel.value) &&
      (!brandSel.value || c.brand_id === brandSel.value) &&
      (!kolSel.value || c.kol_id === kolSel.value))
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at));
    replace(list, rows.length ? table([
      { label: t('contract.brand'), cell: (c) => h('a', { href: `/contracts/${c.id}` }, brandById.get(c.brand_id)?.name || t('common.unknown')) },
      { label: t('contract.kol'), cell: (c) => kolById.get(c.kol_id)?.name || t('common.unknown') },
      { label: t('contract.platform'), cell: (c) => tt('platform', c.platform) },
      { label: t('contract.period'), cell: (c) => `${date(c.starts_at)} – ${date(c.ends_at)}` },
      { label: t('contract.slotFee'), class: 'num', cell: (c) => yuan(c.slot_fee_fen) },
      { label: t('contract.commission'), class: 'num', cell: (c) => pct(c.commission_bp) },
      { label: t('contract.status'), cell: (c) => badge(tt('status', c.status), `st-${c.status}`) },
      { label: t('contract.version'), class: 'num', cell: (c) => `v${c.version}` },
    ], rows, { caption: t('contracts.title'), rowAttrs: (c) => ({ 'data-contract': c.id }) }) : empty(contracts.length ? t('contracts.noMatch') : t('contracts.none')));
  };
  for (const el of [statusSel, brandSel, kolSel]) el.addEventListener('change', update);

  const openForm = () => {
    const { form, read } = contractForm({
      mode: 'new', brands, kols, submitLabel: t('contracts.create'),
      onCancel: () => replace(formSlot),
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const { body, errors } = read();
      if (errors) return showErrors(form, new ApiError(422, { errors }));
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          const created = await api('/contracts', { method: 'POST', body });
          toast(t('contracts.created'));
          navigate(`/contracts/${created.id}`);
        } catch (e) {
          showErrors(form, e);
        }
      });
    });
    replace(formSlot, h('section', { class: 'card', 'aria-labelledby': 'new-contract-h' }, h('h2', { id: 'new-contract-h' }, t('contracts.new')), form));
    form.querySelector('select, input')?.focus();
  };

  replace(main,
    pageHeader(t('contracts.title'), can('manage') ? h('button', { class: 'primary', type: 'button', onclick: openForm }, t('contracts.new')) : null),
    formSlot,
    h('div', { class: 'filters' }, statusSel, brandSel, kolSel),
    list);
  update();
  if (query.new === '1' && can('manage')) openForm();
}
