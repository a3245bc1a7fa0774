// One KOL: profile (tier, accounts, categories, share, tax identity — the ID number only ever
// masked), the contracts with each one's GMV guarantee progress (net GMV so far against the
// guarantee, days left), the sessions, and the net GMV. Managers edit it here.
import { api, listIfAvailable, lookups, byId, invalidate, ApiError } from '../lib/api.js';
import { h, replace, pageHeader, badge, table, empty, field, formError, showErrors, busy, toast, select } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan, pct, parsePct, bpToInput, date, dateTime, compact } from '../lib/format.js';

const TIERS = ['head', 'waist', 'tail'];
const PLATFORMS = ['taobao', 'douyin', 'kuaishou'];
const ID_TYPES = ['resident_id_card', 'passport', 'hk_macau_pass', 'taiwan_pass', 'foreign_permanent_resident'];
const DAY = 86_400_000;

/** A contract's guarantee: net GMV so far against it, the share reached and the days left. */
export function guaranteeProgress(c, netGmvFen, now = Date.now()) {
  if (!c.gmv_guarantee_fen) return null;
  const reached = Math.min(1000, Math.floor((netGmvFen * 1000) / c.gmv_guarantee_fen)) / 10;
  const daysLeft = Math.max(0, Math.ceil((Date.parse(c.ends_at) - now) / DAY));
  return { net: netGmvFen, guarantee: c.gmv_guarantee_fen, reached, daysLeft, short: Math.max(0, c.gmv_guarantee_fen - netGmvFen) };
}

export default async function render(main, { params, can }) {
  const brandById = byId(await lookups.brands());
  let k = await api(`/kols/${params.id}`);
  const [contracts, sessions, gmv] = await Promise.all([
    listIfAvailable('/contracts', { kol_id: k.id }),
    listIfAvailable('/sessions', { kol_id: k.id }),
    api('/gmv', { query: { by: 'contract', kol_id: k.id } }).catch(() => null),
  ]);
  const gmvByContract = new Map((gmv?.items || []).map((i) => [i.key, i]));
  const editSlot = h('div');

  const draw = () => {
    const upcoming = (sessions || []).filter((s) => Date.parse(s.ends_at) >= Date.now()).sort((a, b) => a.starts_at.localeCompare(b.starts_at));
    const past = (sessions || []).filter((s) => Date.parse(s.ends_at) < Date.now()).sort((a, b) => b.starts_at.localeCompare(a.starts_at));
    replace(main,
      pageHeader(k.name, badge(tt('tier', k.tier), `tier-${k.tier}`),
        can('manage') ? h('button', { type: 'button', onclick: () => openEdit() }, t('common.edit')) : null),
      h('p', { class: 'breadcrumb' }, h('a', { href: '/kols' }, `← ${t('kols.title')}`)),
      editSlot,
      h('div', { class: 'two-col' },
        h('section', { class: 'card', 'aria-labelledby': 'profile-h' }, h('h2', { id: 'profile-h' }, t('kol.profile')),
          h('dl', { class: 'terms' },
            h('div', null, h('dt', null, t('kols.accounts')), h('dd', null, h('ul', { class: 'accounts' }, k.accounts.map((a) =>
              h('li', null, badge(tt('platform', a.platform), `pf-${a.platform}`), ` ${a.account_id} · ${compact(a.followers)} ${t('kols.followers')}`))))),
            h('div', null, h('dt', null, t('kols.category')), h('dd', null, k.categories.map((c) => tt('category', c)).join('、') || '—')),
            k.revenue_share_bp !== undefined ? h('div', null, h('dt', null, t('kols.share')), h('dd', null, pct(k.revenue_share_bp))) : null,
            k.tax_status ? h('div', null, h('dt', null, t('kol.taxStatus')), h('dd', null, tt('tax', k.tax_status))) : null,
            k.tax_status ? h('div', null, h('dt', null, t('kol.identity')), h('dd', { 'data-identity': '' },
              k.legal_name ? `${k.legal_name} · ${tt('idType', k.id_type)} ${k.id_number_masked || ''}` : h('span', { class: 'muted' }, t('kol.noIdentity')))) : null)),
        h('section', { class: 'card', 'aria-labelledby': 'gmv-h' }, h('h2', { id: 'gmv-h' }, t('kols.gmv')),
          gmv ? h('dl', { class: 'figures' },
            h('div', null, h('dt', null, t('kols.gmv')), h('dd', { class: 'num' }, yuan(gmv.total.net_gmv_fen))),
            h('div', null, h('dt', null, t('kols.orders')), h('dd', { class: 'num' }, String(gmv.total.orders))),
            h('div', null, h('dt', null, t('kol.units')), h('dd', { class: 'num' }, String(gmv.total.units)))) : h('p', { class: 'muted' }, t('gmv.unavailable')))),
      h('section', { class: 'card', 'aria-labelledby': 'contracts-h' }, h('h2', { id: 'contracts-h' }, t('kols.contracts', { n: (contracts || []).length })),
        contracts?.length ? table([
          { label: t('lineup.brand'), cell: (c) => h('a', { href: `/contracts/${c.id}` }, brandById.get(c.brand_id)?.name || t('common.unknown')) },
          { label: t('session.platform'), cell: (c) => tt('platform', c.platform) },
          { label: t('settle.status'), cell: (c) => badge(tt('status', c.status), `st-${c.status}`) },
          { label: t('kol.term'), cell: (c) => `${date(c.starts_at)} – ${date(c.ends_at)}` },
          { label: t('kols.gmv'), class: 'num', cell: (c) => yuan(gmvByContract.get(c.id)?.net_gmv_fen ?? 0) },
          { label: t('kol.guarantee'), cell: (c) => progressView(guaranteeProgress(c, gmvByContract.get(c.id)?.net_gmv_fen ?? 0)) },
        ], [...contracts].sort((a, b) => b.starts_at.localeCompare(a.starts_at)), { caption: t('kols.contracts', { n: contracts.length }), rowAttrs: (c) => ({ 'data-contract': c.id }) })
          : empty(t('kols.noContracts'))),
      h('section', { class: 'card', 'aria-labelledby': 'sessions-h' }, h('h2', { id: 'sessions-h' }, t('sessions.title')),
        sessions?.length ? h('ul', { class: 'session-mini' }, [...upcoming, ...past.slice(0, 20)].map((s) => h('li', { 'data-session': s.id },
          h('a', { href: `/sessions/${s.id}` }, s.title), ' ', h('span', { class: 'muted' }, `${dateTime(s.starts_at)} · ${tt('platform', s.platform)} · ${t('sessions.slots', { n: s.lineup.length, cap: s.slot_capacity })}`),
          ' ', badge(tt('sstatus', s.status), `ss-${s.status}`)))) : empty(t('sessions.none'))));
  };

  const progressView = (p) => {
    if (!p) return h('span', { class: 'muted' }, t('contract.noGuarantee'));
    const kind = p.reached >= 100 ? 'good' : p.daysLeft === 0 ? 'bad' : 'warn';
    return h('div', { class: 'guarantee', 'data-reached': String(p.reached) },
      h('progress', { max: '100', value: String(Math.min(100, p.reached)), 'aria-label': t('kol.guarantee') }),
      h('span', { class: `badge ${kind}` }, `${p.reached}%`),
      h('small', { class: 'muted' }, ` ${yuan(p.net)} / ${yuan(p.guarantee)} · ${p.reached >= 100 ? t('kol.met') : t('kol.daysLeft', { n: p.daysLeft, short: yuan(p.short) })}`));
  };

  const openEdit = () => {
    const name = h('input', { type: 'text', value: k.name, required: true });
    const tier = select(TIERS.map((x) => [x, tt('tier', x)]), k.tier);
    const share = h('input', { type: 'text', inputmode: 'decimal', value: bpToInput(k.revenue_share_bp ?? 0) });
    const taxStatus = select(['individual', 'company'].map((x) => [x, tt('tax', x)]), k.tax_status);
    const legalName = h('input', { type: 'text', value: k.legal_name || '', autocomplete: 'off' });
    const idType = select([['', t('common.choose')], ...ID_TYPES.map((x) => [x, tt('idType', x)])], k.id_type || '');
    const idNumber = h('input', { type: 'text', value: '', autocomplete: 'off', spellcheck: 'false', placeholder: k.id_number_masked || '' });
    const categories = h('input', { type: 'text', value: k.categories.join(', ') });
    const accountsBox = h('div', { class: 'accounts-edit' });
    const addAccount = (a = { platform: 'douyin', account_id: '', followers: 0 }) => {
      const i = accountsBox.children.length;
      const row = h('div', { class: 'row account-row' },
        select(PLATFORMS.map((p) => [p, tt('platform', p)]), a.platform, { 'aria-label': t('session.platform'), name: `accounts[${i}].platform` }),
        h('input', { type: 'text', value: a.account_id, 'aria-label': t('kol.accountId'), name: `accounts[${i}].account_id` }),
        h('input', { type: 'number', min: '0', value: String(a.followers), 'aria-label': t('kols.followers'), name: `accounts[${i}].followers` }),
        h('button', { type: 'button', class: 'ghost small', 'aria-label': t('kol.removeAccount'), onclick: () => row.remove() }, '×'),
        h('p', { class: 'field-error', 'data-error-for': `accounts[${i}].account_id` }));
      accountsBox.append(row);
    };
    k.accounts.forEach(addAccount);
    const form = h('form', { class: 'form-grid card', novalidate: true, 'aria-labelledby': 'kol-edit-h' },
      h('h2', { id: 'kol-edit-h' }, t('kol.edit')),
      field(t('kol.name'), name, { name: 'name' }),
      field(t('kol.tier'), tier, { name: 'tier' }),
      field(t('kols.share'), share, { name: 'revenue_share_bp', hint: t('common.pctHint') }),
      field(t('kols.category'), categories, { name: 'categories', hint: t('kol.categoriesHint') }),
      h('fieldset', { class: 'wide' }, h('legend', null, t('kols.accounts')), accountsBox,
        h('button', { type: 'button', class: 'ghost small', onclick: () => addAccount() }, t('kol.addAccount')),
        h('p', { class: 'field-error', 'data-error-for': 'accounts' })),
      h('fieldset', { class: 'wide form-grid' }, h('legend', null, t('kol.identity')),
        field(t('kol.taxStatus'), taxStatus, { name: 'tax_status' }),
        field(t('kol.legalName'), legalName, { name: 'legal_name' }),
        field(t('kol.idType'), idType, { name: 'id_type' }),
        field(t('kol.idNumber'), idNumber, { name: 'id_number', hint: k.id_number_masked ? t('kol.idNumberKept', { masked: k.id_number_masked }) : t('kol.idNumberHint') })),
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('common.save')),
        h('button', { class: 'ghost', type: 'button', onclick: () => replace(editSlot) }, t('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const bp = parsePct(share.value);
      if (Number.isNaN(bp)) return showErrors(form, new ApiError(422, { errors: [{ field: 'revenue_share_bp', message: t('common.badPct') }] }));
      const body = {
        name: name.value.trim(), tier: tier.value, revenue_share_bp: bp, tax_status: taxStatus.value,
        categories: categories.value.split(/[,，、\s]+/).map((c) => c.trim()).filter(Boolean),
        accounts: [...accountsBox.children].map((row) => {
          const [platform, id, followers] = row.querySelectorAll('select, input');
          return { platform: platform.value, account_id: id.value.trim(), followers: Number(followers.value) || 0 };
        }),
      };
      if (legalName.value.trim() && legalName.value.trim() !== (k.legal_name || '')) body.legal_name = legalName.value.trim();
      // The number is write-only: sent only when typed, with its type.
      if (idNumber.value.trim()) {
        body.id_number = idNumber.value.trim();
        body.id_type = idType.value || 'resident_id_card';
      }
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          k = await api(`/kols/${k.id}`, { method: 'PATCH', body });
          invalidate('kols');
          toast(t('common.saved'));
          replace(editSlot);
          draw();
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(editSlot, form);
    name.focus();
  };

  draw();
}
