// A session's lineup editor: add, remove and reorder product slots, set each slot's contract,
// live price and units, and see before saving what the server would refuse (under the floor
// price, above the list price, over stock, over the session's capacity, a contract that does not
// cover the session) and what compliance would flag (a lowest-price promise broken either way).
// Saving sends the whole lineup (PATCH /sessions/{id} {lineup}); the server checks it again.
import { api } from '../lib/api.js';
import { h, replace, field, formError, showErrors, busy, toast, select } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan, fenToInput, parseYuan } from '../lib/format.js';

const IN_FORCE = ['signed', 'active'];

/** Contracts that may fill a slot of session `s`: its KOL and platform, in force, covering its start. */
export function eligibleContracts(s, contracts) {
  const start = Date.parse(s.starts_at);
  return contracts.filter((c) => c.kol_id === s.kol_id && c.platform === s.platform && IN_FORCE.includes(c.status) &&
    Date.parse(c.starts_at) <= start && start < Date.parse(c.ends_at));
}

/**
 * What is wrong with each slot: `errors` (the server refuses them) and `warnings` (compliance
 * findings), as {field, text}. `others` are the slots of other sessions, not cancelled, each
 * {session, slot}; `contractById` knows every contract (for lowest-price promises).
 */
export function slotProblems(s, rows, { productById, contractById, others }) {
  const start = Date.parse(s.starts_at);
  const within = (at, c) => Date.parse(c.starts_at) <= at && at < Date.parse(c.ends_at);
  return rows.map((r) => {
    const errors = [];
    const warnings = [];
    const p = productById.get(r.product_id);
    const c = contractById.get(r.contract_id);
    if (!c) errors.push({ field: 'contract_id', text: t('lineup.needContract') });
    if (!Number.isInteger(r.live_price_fen)) errors.push({ field: 'live_price_fen', text: t('lineup.badPrice') });
    if (!Number.isInteger(r.units) || r.units <= 0) errors.push({ field: 'units', text: t('lineup.badUnits') });
    if (p && Number.isInteger(r.live_price_fen)) {
      if (r.live_price_fen < p.floor_price_fen) errors.push({ field: 'live_price_fen', text: t('lineup.underFloor', { floor: yuan(p.floor_price_fen) }) });
      if (r.live_price_fen > p.list_price_fen) errors.push({ field: 'live_price_fen', text: t('lineup.aboveList', { list: yuan(p.list_price_fen) }) });
    }
    if (p && Number.isInteger(r.units) && r.units > p.stock_units) errors.push({ field: 'units', text: t('lineup.overStock', { stock: p.stock_units }) });
    if (!Number.isInteger(r.live_price_fen)) return { errors, warnings };
    const same = others.filter((o) => o.slot.product_id === r.product_id);
    // This slot's own promise: nothing cheaper elsewhere in its contract's period.
    if (c?.lowest_price_clause) {
      const cheaper = same.filter((o) => within(Date.parse(o.session.starts_at), c) && o.slot.live_price_fen < r.live_price_fen)
        .sort((a, b) => a.slot.live_price_fen - b.slot.live_price_fen)[0];
      if (cheaper) warnings.push({ field: 'live_price_fen', text: t('lineup.abovePromised', { price: yuan(cheaper.slot.live_price_fen), session: cheaper.session.title }) });
    }
    // Another contract's promise that this slot would undercut.
    for (const o of same) {
      const oc = contractById.get(o.slot.contract_id);
      if (oc?.lowest_price_clause && oc.id !== r.contract_id && within(start, oc) && r.live_price_fen < o.slot.live_price_fen) {
        warnings.push({ field: 'live_price_fen', text: t('lineup.undercuts', { price: yuan(o.slot.live_price_fen), session: o.session.title }) });
      }
    }
    return { errors, warnings };
  });
}

/**
 * The editor inside `slot`. `onSaved(session)` runs after the server accepted the lineup.
 */
export function openLineupEditor(slot, s, { products, contracts, sessions, brandById, onSaved, onCancel }) {
  const productById = new Map(products.map((p) => [p.id, p]));
  const contractById = new Map(contracts.map((c) => [c.id, c]));
  const eligible = eligibleContracts(s, contracts);
  const brandsWithContract = new Set(eligible.map((c) => c.brand_id));
  const candidates = products.filter((p) => brandsWithContract.has(p.brand_id)).sort((a, b) => a.name.localeCompare(b.name, 'zh'));
  const others = sessions.filter((o) => o.id !== s.id && o.status !== 'cancelled')
    .flatMap((o) => o.lineup.map((l) => ({ session: o, slot: l })));
  let rows = [...s.lineup].sort((a, b) => a.position - b.position)
    .map((l) => ({ product_id: l.product_id, contract_id: l.contract_id, live_price_fen: l.live_price_fen, units: l.units }));

  const capacityNote = h('p', { class: 'capacity', role: 'status' });
  const body = h('tbody');
  const adder = select([['', t('lineup.pickProduct')]], '', { 'aria-label': t('lineup.addProduct') });
  const addButton = h('button', { type: 'button', class: 'ghost', disabled: true }, t('lineup.add'));
  const form = h('form', { class: 'card lineup-editor', novalidate: true, 'aria-labelledby': 'lineup-edit-h' },
    h('h2', { id: 'lineup-edit-h' }, t('lineup.edit')),
    capacityNote,
    h('div', { class: 'table-wrap' }, h('table', null,
      h('thead', null, h('tr', null, ['#', t('lineup.product'), t('lineup.contract'), t('lineup.livePrice'), t('lineup.units'), t('lineup.checks'), ''].map((c) => h('th', { scope: 'col' }, c)))),
      body)),
    h('div', { class: 'row add-slot' }, adder, addButton),
    h('p', { class: 'field-error', 'data-error-for': 'lineup' }),
    formError(),
    h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('common.save')),
      h('button', { class: 'ghost', type: 'button', onclick: onCancel }, t('common.cancel'))));

  const refreshAdder = () => {
    const used = new Set(rows.map((r) => r.product_id));
    adder.replaceChildren(h('option', { value: '' }, t('lineup.pickProduct')),
      ...candidates.filter((p) => !used.has(p.id)).map((p) => h('option', { value: p.id }, `${p.name} · ${brandById.get(p.brand_id)?.name || ''} · ${yuan(p.floor_price_fen)}–${yuan(p.list_price_fen)}`)));
    addButton.disabled = true;
  };

  const draw = () => {
    const problems = slotProblems(s, rows, { productById, contractById, others });
    const over = rows.length > s.slot_capacity;
    capacityNote.textContent = t('sessions.slots', { n: rows.length, cap: s.slot_capacity });
    capacityNote.className = `capacity${over ? ' bad' : ''}`;
    if (over) capacityNote.textContent += ` — ${t('lineup.overCapacity')}`;
    replace(body, rows.map((r, i) => rowView(r, i, problems[i])));
    refreshAdder();
  };

  const rowView = (r, i, { errors, warnings }) => {
    const p = productById.get(r.product_id);
    const choices = eligible.filter((c) => c.brand_id === p?.brand_id);
    const contract = select([['', t('common.choose')], ...choices.map((c) => [c.id, contractLabel(c)])], r.contract_id, { 'aria-label': t('lineup.contract'), name: `lineup[${i}].contract_id` });
    contract.addEventListener('change', () => { r.contract_id = contract.value; draw(); });
    const price = h('input', { type: 'text', inputmode: 'decimal', value: fenToInput(r.live_price_fen), 'aria-label': t('lineup.livePrice'), name: `lineup[${i}].live_price_fen`, class: 'num' });
    price.addEventListener('change', () => { r.live_price_fen = parseYuan(price.value); draw(); });
    const units = h('input', { type: 'number', min: '1', step: '1', value: String(r.units), 'aria-label': t('lineup.units'), name: `lineup[${i}].units`, class: 'num' });
    units.addEventListener('change', () => { r.units = Number(units.value); draw(); });
    const move = (d) => { const j = i + d; [rows[i], rows[j]] = [rows[j], rows[i]]; draw(); body.querySelectorAll('tr')[j]?.querySelector(d < 0 ? '.up' : '.down')?.focus(); };
    const notes = [...errors.map((e) => h('li', { class: 'bad', 'data-check': e.field }, e.text)), ...warnings.map((w) => h('li', { class: 'warn', 'data-check': w.field }, w.text))];
    return h('tr', { 'data-product': r.product_id, class: errors.length ? 'has-errors' : warnings.length ? 'has-warnings' : '' },
      h('td', { class: 'num' }, String(i + 1)),
      h('td', null, p ? p.name : r.product_id, p ? h('div', { class: 'muted small' }, `${t('lineup.floor')} ${yuan(p.floor_price_fen)} · ${t('lineup.list')} ${yuan(p.list_price_fen)} · ${t('lineup.stock')} ${p.stock_units}`) : null),
      h('td', null, contract, h('p', { class: 'field-error', 'data-error-for': `lineup[${i}].contract_id` })),
      h('td', null, price, h('p', { class: 'field-error', 'data-error-for': `lineup[${i}].live_price_fen` })),
      h('td', null, units, h('p', { class: 'field-error', 'data-error-for': `lineup[${i}].units` })),
      h('td', null, notes.length ? h('ul', { class: 'checks' }, notes) : h('span', { class: 'ok-note' }, '✓')),
      h('td', { class: 'slot-actions' },
        h('button', { type: 'button', class: 'ghost small up', disabled: i === 0, 'aria-label': t('lineup.up'), onclick: () => move(-1) }, '↑'),
        h('button', { type: 'button', class: 'ghost small down', disabled: i === rows.length - 1, 'aria-label': t('lineup.down'), onclick: () => move(1) }, '↓'),
        h('button', { type: 'button', class: 'ghost small', 'aria-label': t('lineup.remove'), onclick: () => { rows.splice(i, 1); draw(); } }, '×')));
  };

  const contractLabel = (c) => `${brandById.get(c.brand_id)?.name || ''} · ${tt('status', c.status)}${c.lowest_price_clause ? ` · ${t('contract.lowestPrice')}` : ''}`;

  adder.addEventListener('change', () => { addButton.disabled = !adder.value; });
  addButton.addEventListener('click', () => {
    const p = productById.get(adder.value);
    if (!p) return;
    const choices = eligible.filter((c) => c.brand_id === p.brand_id);
    rows.push({ product_id: p.id, contract_id: choices.length === 1 ? choices[0].id : '', live_price_fen: p.list_price_fen, units: Math.max(1, Math.min(p.stock_units, 100)) });
    draw();
    body.lastElementChild?.querySelector('input')?.focus();
  });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const lineup = rows.map((r, i) => ({ ...r, position: i + 1 }));
    await busy(form.querySelector('[type=submit]'), async () => {
      try {
        const saved = await api(`/sessions/${s.id}`, { method: 'PATCH', body: { lineup } });
        toast(t('lineup.saved'));
        onSaved(saved);
      } catch (e) { showErrors(form, e); }
    });
  });
  replace(slot, form);
  draw();
  adder.focus();
}
