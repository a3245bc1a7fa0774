// The contract terms form: new contracts, edits in draft/proposed, and amendments after signing.
import { h, field, checkField, select, formError } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { parseYuan, parsePct, fenToInput, bpToInput, localDateToUtc, utcToLocalDate } from '../lib/format.js';

const REMEDIES = ['none', 'slot_fee_refund_pro_rata', 'make_good_session'];

/**
 * mode 'new' (brand, KOL, platform and terms), 'edit' (terms) or 'amend' (terms and a reason).
 * Returns {form, read()} where read() gives the API body or {errors} found before sending.
 */
export function contractForm({ mode, contract = {}, brands = [], kols = [], onCancel, submitLabel }) {
  const c = contract;
  const controls = {};
  const parts = [];
  if (mode === 'new') {
    controls.brand_id = select([['', t('common.choose')], ...brands.map((b) => [b.id, b.name])], c.brand_id, { required: true });
    controls.kol_id = select([['', t('common.choose')], ...kols.map((k) => [k.id, `${k.name} · ${tt('tier', k.tier)}`])], c.kol_id, { required: true });
    controls.platform = select([['', t('common.choose')]], '', { required: true });
    const fillPlatforms = () => {
      const kol = kols.find((k) => k.id === controls.kol_id.value);
      const platforms = kol ? kol.accounts.map((a) => a.platform) : [];
      controls.platform.replaceChildren(...[['', t('common.choose')], ...platforms.map((p) => [p, tt('platform', p)])]
        .map(([v, l]) => h('option', { value: v }, l)));
      if (platforms.length === 1) controls.platform.value = platforms[0];
    };
    controls.kol_id.addEventListener('change', fillPlatforms);
    fillPlatforms();
    parts.push(
      field(t('contract.brand'), controls.brand_id, { name: 'brand_id' }),
      field(t('contract.kol'), controls.kol_id, { name: 'kol_id' }),
      field(t('contract.platform'), controls.platform, { name: 'platform' }));
  }
  controls.starts_at = h('input', { type: 'date', value: utcToLocalDate(c.starts_at), required: mode === 'new' });
  controls.ends_at = h('input', { type: 'date', value: utcToLocalDate(c.ends_at), required: mode === 'new' });
  controls.slot_fee_fen = h('input', { type: 'text', inputmode: 'decimal', value: fenToInput(c.slot_fee_fen), placeholder: '0.00', required: mode === 'new' });
  controls.commission_bp = h('input', { type: 'text', inputmode: 'decimal', value: c.commission_bp === undefined ? '' : bpToInput(c.commission_bp), placeholder: '20', required: mode === 'new' });
  controls.gmv_guarantee_fen = h('input', { type: 'text', inputmode: 'decimal', value: fenToInput(c.gmv_guarantee_fen), placeholder: t('contract.noGuarantee') });
  controls.guarantee_remedy = select(REMEDIES.map((r) => [r, tt('remedy', r)]), c.guarantee_remedy || 'none');
  controls.sessions_committed = h('input', { type: 'number', min: '0', step: '1', value: c.sessions_committed ?? 0 });
  controls.exclusive = h('input', { type: 'checkbox', checked: !!c.exclusive });
  controls.lowest_price_clause = h('input', { type: 'checkbox', checked: !!c.lowest_price_clause });
  parts.push(
    field(t('contract.startsAt'), controls.starts_at, { name: 'starts_at' }),
    field(t('contract.endsAt'), controls.ends_at, { name: 'ends_at' }),
    field(t('contract.slotFee'), controls.slot_fee_fen, { name: 'slot_fee_fen', hint: t('common.yuanHint') }),
    field(t('contract.commission'), controls.commission_bp, { name: 'commission_bp', hint: t('common.pctHint') }),
    field(t('contract.guarantee'), controls.gmv_guarantee_fen, { name: 'gmv_guarantee_fen', hint: t('contract.guaranteeHint') }),
    field(t('contract.remedy'), controls.guarantee_remedy, { name: 'guarantee_remedy' }),
    field(t('contract.sessions'), controls.sessions_committed, { name: 'sessions_committed' }),
    checkField(t('contract.exclusive'), controls.exclusive, { name: 'exclusive' }),
    checkField(t('contract.lowestPrice'), controls.lowest_price_clause, { name: 'lowest_price_clause' }));
  if (mode === 'amend') {
    controls.reason = h('textarea', { rows: 2, required: true });
    parts.push(field(t('contract.reason'), controls.reason, { name: 'reason', wide: true }));
  }
  const form = h('form', { class: 'form-grid', novalidate: true },
    parts, formError(),
    h('div', { class: 'form-actions' },
      h('button', { class: 'primary', type: 'submit' }, submitLabel),
      onCancel ? h('button', { type: 'button', class: 'ghost', onclick: onCancel }, t('common.cancel')) : null));

  function read() {
    const body = {};
    const errors = [];
    const need = (name, ok, message) => { if (!ok) errors.push({ field: name, message }); };
    if (mode === 'new') {
      for (const k of ['brand_id', 'kol_id', 'platform']) {
        need(k, controls[k].value, t('common.required'));
        body[k] = controls[k].value;
      }
    }
    const changed = (name, value, original) => {
      if (mode === 'new' || value !== original) body[name] = value;
    };
    for (const k of ['starts_at', 'ends_at']) {
      if (controls[k].value) changed(k, localDateToUtc(controls[k].value), c[k] && localDateToUtc(utcToLocalDate(c[k])));
      else need(k, mode !== 'new', t('common.required'));
    }
    const fee = parseYuan(controls.slot_fee_fen.value);
    if (controls.slot_fee_fen.value.trim() || mode === 'new') {
      need('slot_fee_fen', Number.isFinite(fee), t('common.badYuan'));
      if (Number.isFinite(fee)) changed('slot_fee_fen', fee, c.slot_fee_fen);
    }
    const bp = parsePct(controls.commission_bp.value);
    if (controls.commission_bp.value.trim() || mode === 'new') {
      need('commission_bp', Number.isFinite(bp), t('common.badPct'));
      if (Number.isFinite(bp)) changed('commission_bp', bp, c.commission_bp);
    }
    const g = controls.gmv_guarantee_fen.value.trim();
    if (g) {
      const fen = parseYuan(g);
      need('gmv_guarantee_fen', Number.isFinite(fen), t('common.badYuan'));
      if (Number.isFinite(fen)) changed('gmv_guarantee_fen', fen, c.gmv_guarantee_fen);
    } else if (mode === 'new' || (c.gmv_guarantee_fen ?? null) !== null) {
      changed('gmv_guarantee_fen', null, c.gmv_guarantee_fen ?? null);
    }
    changed('guarantee_remedy', controls.guarantee_remedy.value, c.guarantee_remedy);
    const n = Number(controls.sessions_committed.value);
    need('sessions_committed', Number.isInteger(n), t('common.badInt'));
    changed('sessions_committed', n, c.sessions_committed);
    changed('exclusive', controls.exclusive.checked, c.exclusive);
    changed('lowest_price_clause', controls.lowest_price_clause.checked, c.lowest_price_clause);
    if (mode === 'amend') {
      need('reason', controls.reason.value.trim(), t('common.required'));
      body.reason = controls.reason.value.trim();
    }
    return errors.length ? { errors } : { body };
  }

  return { form, read, controls };
}
