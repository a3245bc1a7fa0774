// One contract: its terms, lifecycle actions, edits or amendments, and every version.
import { api, lookups, byId, ApiError } from '../lib/api.js';
import { h, replace, pageHeader, badge, showErrors, busy, toast, formError, field, errorText, loading } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan, pct, date, dateTime } from '../lib/format.js';
import { contractForm } from './contract-form.js';

/** The lifecycle (design §1), to offer only legal moves; the server still decides. */
const NEXT = {
  draft: ['proposed', 'cancelled'],
  proposed: ['signed', 'cancelled'],
  signed: ['active', 'terminated'],
  active: ['completed', 'terminated'],
};
const NEEDS_REASON = ['cancelled', 'terminated'];
const TERMS = ['starts_at', 'ends_at', 'slot_fee_fen', 'commission_bp', 'gmv_guarantee_fen', 'guarantee_remedy', 'exclusive', 'lowest_price_clause', 'sessions_committed'];

export default async function render(main, { params, can }) {
  const [brands, kols] = await Promise.all([lookups.brands(), lookups.kols()]);
  const brandById = byId(brands);
  const kolById = byId(kols);
  let contract = await api(`/contracts/${params.id}`);

  const header = h('div');
  const terms = h('section', { class: 'card', 'aria-labelledby': 'terms-h' });
  const actions = h('section', { class: 'card', 'aria-labelledby': 'actions-h' });
  const versions = h('section', { class: 'card', 'aria-labelledby': 'versions-h' });

  const refresh = async (updated) => {
    contract = updated || await api(`/contracts/${params.id}`);
    draw();
    loadVersions();
  };

  const draw = () => {
    const brand = brandById.get(contract.brand_id)?.name || t('common.unknown');
    const kol = kolById.get(contract.kol_id)?.name || t('common.unknown');
    replace(header, pageHeader(`${brand} × ${kol}`, badge(tt('status', contract.status), `st-${contract.status}`), h('span', { class: 'muted' }, `v${contract.version}`)),
      h('p', { class: 'breadcrumb' }, h('a', { href: '/contracts' }, `← ${t('contracts.title')}`)));
    replace(terms, h('h2', { id: 'terms-h' }, t('contract.terms')), termList(contract, { brand, kol }));
    drawActions();
  };

  const drawActions = () => {
    const box = h('div', { class: 'action-area' });
    replace(actions, h('h2', { id: 'actions-h' }, t('contract.lifecycle')), lifecycleBar(contract.status), box);
    if (!can('manage')) return replace(box, h('p', { class: 'muted' }, t('contract.readOnly')));
    const moves = NEXT[contract.status] || [];
    const problem = formError();
    const buttons = moves.map((to) => h('button', {
      type: 'button', class: NEEDS_REASON.includes(to) ? 'danger' : 'primary', 'data-to': to,
      onclick: (ev) => (NEEDS_REASON.includes(to) ? askReason(to) : move(ev.currentTarget, to)),
    }, tt('action', to)));
    const editBtn = ['draft', 'proposed'].includes(contract.status)
      ? h('button', { type: 'button', onclick: () => openTerms('edit') }, t('contract.edit'))
      : ['signed', 'active'].includes(contract.status)
        ? h('button', { type: 'button', onclick: () => openTerms('amend') }, t('contract.amend'))
        : null;
    const slot = h('div');
    const holder = h('form', { class: 'inline-actions', novalidate: true }, h('div', { class: 'row' }, buttons, editBtn), problem);
    replace(box, moves.length || editBtn ? holder : h('p', { class: 'muted' }, t('contract.final')), slot);

    async function move(button, to, reason) {
      await busy(button, async () => {
        try {
          const updated = await api(`/contracts/${contract.id}/transitions`, { method: 'POST', body: reason ? { to, reason } : { to } });
          toast(t('contract.moved', { status: tt('status', to) }));
          await refresh(updated);
        } catch (e) {
          showErrors(holder, e);
        }
      });
    }

    function askReason(to) {
      const reason = h('textarea', { rows: 2 });
      const f = h('form', { class: 'form-grid', novalidate: true },
        field(t('contract.reason'), reason, { name: 'reason', wide: true }), formError(),
        h('div', { class: 'form-actions' },
          h('button', { class: 'danger', type: 'submit' }, tt('action', to)),
          h('button', { class: 'ghost', type: 'button', onclick: () => replace(slot) }, t('common.cancel'))));
      f.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        await busy(f.querySelector('[type=submit]'), async () => {
          try {
            const updated = await api(`/contracts/${contract.id}/transitions`, { method: 'POST', body: { to, reason: reason.value.trim() || undefined } });
            toast(t('contract.moved', { status: tt('status', to) }));
            await refresh(updated);
          } catch (e) { showErrors(f, e); }
        });
      });
      replace(slot, f);
      reason.focus();
    }

    function openTerms(mode) {
      const { form, read } = contractForm({
        mode, contract, submitLabel: mode === 'amend' ? t('contract.saveAmendment') : t('common.save'),
        onCancel: () => replace(slot),
      });
      form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const { body, errors } = read();
        if (errors) return showErrors(form, new ApiError(422, { errors }));
        await busy(form.querySelector('[type=submit]'), async () => {
          try {
            const updated = mode === 'amend'
              ? await api(`/contracts/${contract.id}/amendments`, { method: 'POST', body })
              : await api(`/contracts/${contract.id}`, { method: 'PATCH', body });
            toast(mode === 'amend' ? t('contract.amended', { v: updated.version }) : t('common.saved'));
            await refresh(updated);
          } catch (e) { showErrors(form, e); }
        });
      });
      replace(slot, h('h3', null, mode === 'amend' ? t('contract.amend') : t('contract.edit')),
        mode === 'amend' ? h('p', { class: 'hint' }, t('contract.amendHint')) : null, form);
      form.querySelector('input')?.focus();
    }
  };

  const loadVersions = async () => {
    replace(versions, h('h2', { id: 'versions-h' }, t('contract.versions')), loading());
    try {
      const res = await api(`/contracts/${params.id}/versions`);
      const items = [...res.items].reverse();
      replace(versions, h('h2', { id: 'versions-h' }, t('contract.versions')),
        h('ol', { class: 'versions', reversed: true }, items.map((v, i) => {
          const prev = items[i + 1];
          return h('li', { 'data-version': v.version },
            h('div', { class: 'version-head' }, h('strong', null, `v${v.version}`), ' ',
              h('span', { class: 'muted' }, `${dateTime(v.created_at)} · ${v.created_by}`)),
            v.reason ? h('p', { class: 'reason' }, v.reason) : null,
            termList(v.terms, { changed: prev ? TERMS.filter((k) => JSON.stringify(prev.terms[k]) !== JSON.stringify(v.terms[k])) : [] }));
        })));
    } catch (e) {
      replace(versions, h('h2', { id: 'versions-h' }, t('contract.versions')), h('p', { class: 'error-box' }, errorText(e)));
    }
  };

  replace(main, header, h('div', { class: 'two-col' }, h('div', null, terms, actions), versions));
  draw();
  loadVersions();
}

function lifecycleBar(status) {
  const path = ['draft', 'proposed', 'signed', 'active', 'completed'];
  const off = ['cancelled', 'terminated'].includes(status);
  const at = path.indexOf(status);
  return h('ol', { class: 'lifecycle', 'aria-label': t('contract.lifecycle') },
    path.map((s, i) => h('li', { class: i < at ? 'done' : i === at ? 'current' : '', 'aria-current': i === at ? 'step' : null }, tt('status', s))),
    off ? h('li', { class: 'current off', 'aria-current': 'step' }, tt('status', status)) : null);
}

function termList(c, { brand, kol, changed = [] } = {}) {
  const row = (key, label, value) => h('div', { class: changed.includes(key) ? 'changed' : '' }, h('dt', null, label), h('dd', null, value,
    changed.includes(key) ? h('span', { class: 'sr-only' }, ` (${t('contract.changed')})`) : null));
  return h('dl', { class: 'terms' },
    brand ? row('brand', t('contract.brand'), brand) : null,
    kol ? row('kol', t('contract.kol'), kol) : null,
    c.platform ? row('platform', t('contract.platform'), tt('platform', c.platform)) : null,
    row('starts_at', t('contract.startsAt'), date(c.starts_at)),
    row('ends_at', t('contract.endsAt'), date(c.ends_at)),
    row('slot_fee_fen', t('contract.slotFee'), yuan(c.slot_fee_fen)),
    row('commission_bp', t('contract.commission'), pct(c.commission_bp)),
    row('gmv_guarantee_fen', t('contract.guarantee'), c.gmv_guarantee_fen === null || c.gmv_guarantee_fen === undefined ? t('common.none') : yuan(c.gmv_guarantee_fen)),
    row('guarantee_remedy', t('contract.remedy'), tt('remedy', c.guarantee_remedy)),
    row('sessions_committed', t('contract.sessions'), String(c.sessions_committed)),
    row('exclusive', t('contract.exclusive'), c.exclusive ? t('common.yes') : t('common.no')),
    row('lowest_price_clause', t('contract.lowestPrice'), c.lowest_price_clause ? t('common.yes') : t('common.no')));
}
