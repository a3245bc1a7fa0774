// One settlement: its figures, every line with how it was computed, approval and the CSV statement.
import { api, lookups, byId } from '../lib/api.js';
import { h, replace, pageHeader, formError, showErrors, busy, toast, badge, table } from '../lib/dom.js';
import { t, tt, has, coded } from '../lib/i18n.js';
import * as fmt from '../lib/format.js';

const { yuan, pct, dateTime, period } = fmt;

/** A line's name and how it was computed in the UI's language, from its `kind` and `params`. */
export function lineName(l) {
  return has(`line.${l.kind}`) ? tt('line', l.kind) : l.label;
}

export function lineHow(l) {
  const p = l.params || {};
  // The guarantee remedy and the tax line read differently by case.
  const variant = l.kind === 'guarantee_remedy' ? `${l.kind}.${p.remedy}${p.remedy === 'make_good_session' ? `.${p.owed ? 'owed' : 'met'}` : ''}`
    : l.kind === 'tax_withheld' && p.tax_status === 'company' ? 'tax_withheld.company' : l.kind;
  return Object.keys(p).length ? coded('lineHow', variant, p, l.how, fmt) : l.how;
}

const FIGURES = [
  ['order_count', 'settle.orders', false], ['gmv_fen', 'settle.gmv'], ['refunds_fen', 'settle.refunds'], ['net_gmv_fen', 'settle.netGmv'],
  ['commission_fen', 'settle.commission'], ['slot_fees_fen', 'settle.slotFees'], ['guarantee_refund_fen', 'settle.guaranteeRefund'],
  ['platform_fees_fen', 'settle.platformFees'], ['kol_share_fen', 'settle.kolShare'], ['tax_withheld_fen', 'settle.tax'],
  ['tax_payable_fen', 'settle.taxPayable'], ['brand_payable_fen', 'settle.brandPayable'], ['kol_payable_fen', 'settle.kolPayable'],
];

export default async function render(main, { params, can }) {
  const [brands, kols] = await Promise.all([lookups.brands(), lookups.kols()]);
  const brandById = byId(brands);
  const kolById = byId(kols);
  let s = await api(`/settlements/${params.id}`);

  const download = async (button) => busy(button, async () => {
    const res = await api(`/settlements/${s.id}/statement.csv`, { raw: true });
    const blob = await res.blob();
    const a = h('a', { href: URL.createObjectURL(blob), download: `settlement-${s.id}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
  });

  // Amounts are under `totals` (older drafts of the API had them at the top level).
  const figure = (k) => s.totals?.[k] ?? s[k];

  const draw = () => {
    const actions = h('form', { class: 'inline-actions', novalidate: true });
    const approve = h('button', { type: 'button', class: 'primary', onclick: (ev) => busy(ev.currentTarget, async () => {
      // Approval fixes the tax of the month and can never be undone: ask once more.
      if (!window.confirm(t('settle.confirmApprove', { payable: yuan(figure('kol_payable_fen') ?? 0), tax: yuan(figure('tax_withheld_fen') ?? 0) }))) return;
      try {
        s = await api(`/settlements/${s.id}/approve`, { method: 'POST' });
        toast(t('settle.approvedToast'));
        draw();
      } catch (e) { showErrors(actions, e); }
    }) }, t('settle.approve'));
    const csv = h('button', { type: 'button', onclick: (ev) => download(ev.currentTarget).catch((e) => showErrors(actions, e)) }, t('settle.csv'));
    replace(actions, h('div', { class: 'row' }, s.status === 'draft' && can('settle') ? approve : null, csv), formError());
    const lines = Array.isArray(s.lines) ? s.lines : [];
    replace(main,
      pageHeader(`${brandById.get(s.brand_id)?.name || ''} × ${kolById.get(s.kol_id)?.name || ''}`, badge(tt('settle', s.status), s.status === 'approved' ? 'good' : 'info')),
      h('p', { class: 'breadcrumb' }, h('a', { href: '/settlements' }, `← ${t('settle.title')}`), ' · ',
        h('a', { href: `/contracts/${s.contract_id}` }, t('settle.contract')), ` v${s.contract_version ?? ''}`),
      h('p', { class: 'muted' }, `${period(s.period_start, s.period_end)} · ${t('contract.commission')} ${pct(s.commission_bp)} · ${t('kols.share')} ${pct(s.revenue_share_bp)} · ${tt('tax', s.tax_status)}`,
        s.approved_at ? ` · ${t('settle.approvedBy', { by: s.approved_by, at: dateTime(s.approved_at) })}` : ''),
      actions,
      h('dl', { class: 'figures wide settle-figures' }, FIGURES.filter(([k]) => figure(k) !== undefined && figure(k) !== null).map(([k, label, money = true]) =>
        h('div', { class: k.endsWith('payable_fen') ? 'strong' : '' }, h('dt', null, t(label)), h('dd', { class: 'num' }, money ? yuan(figure(k)) : String(figure(k)))))),
      h('section', { class: 'card', 'aria-labelledby': 'lines-h' }, h('h2', { id: 'lines-h' }, t('settle.lines')),
        lines.length ? table([
          { label: t('settle.item'), cell: lineName },
          { label: t('settle.amount'), class: 'num', cell: (l) => yuan(l.amount_fen) },
          { label: t('settle.how'), cell: lineHow },
        ], lines) : h('p', { class: 'muted' }, t('settle.noLines'))));
  };
  draw();
}
