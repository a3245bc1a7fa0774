// Small DOM helpers: elements are built with h(), never from HTML strings, so data is always text.
import { t } from './i18n.js';

/**
 * h('button', {class: 'primary', onclick: fn, 'aria-label': 'x'}, 'text', child, [more])
 * Attributes: `class`, `on*` listeners, `dataset`, boolean properties (`disabled`, `checked`,
 * `open`, `selected`, `required`, `hidden`), `value`; anything else becomes an attribute.
 */
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (['disabled', 'checked', 'open', 'selected', 'required', 'hidden', 'multiple'].includes(k)) el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

export function loading(label) {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), label || t('common.loading'));
}

export function empty(message, action) {
  return h('div', { class: 'empty' }, h('p', null, message), action || null);
}

/** An error box for a failed request; a 404 of an API that is not deployed yet reads as such. */
export function errorBox(err) {
  const text = err && err.status === 404 && err.missingApi ? t('common.notAvailable') : errorText(err);
  return h('div', { class: 'error-box', role: 'alert' }, text);
}

export function errorText(err) {
  if (!err) return '';
  if (err.status === 0) return t('common.offline');
  if (err.status === 403) return `${t('common.forbidden')} ${err.detail || ''}`.trim();
  return err.detail || err.title || err.message || String(err);
}

let fieldSeq = 0;

/**
 * A labelled form field with an error slot. `name` is the API field it maps to, so a
 * problem+json `errors: [{field, message}]` lands next to it.
 */
export function field(label, control, { name, hint, wide } = {}) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  if (name && !control.name) control.name = name;
  const err = h('p', { class: 'field-error', id: `${id}-err`, 'data-error-for': name || '' });
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  control.setAttribute('aria-describedby', [hintEl && hintEl.id, err.id].filter(Boolean).join(' '));
  return h('div', { class: `field${wide ? ' wide' : ''}`, 'data-field': name || '' }, h('label', { for: id }, label), control, hintEl, err);
}

/** A checkbox with its label on the right. */
export function checkField(label, control, { name } = {}) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  if (name && !control.name) control.name = name;
  const err = h('p', { class: 'field-error', id: `${id}-err`, 'data-error-for': name || '' });
  control.setAttribute('aria-describedby', err.id);
  return h('div', { class: 'field check', 'data-field': name || '' }, h('label', { for: id }, control, ' ', label), err);
}

export function select(options, value, attrs = {}) {
  return h('select', attrs, options.map(([v, label]) => h('option', { value: v, selected: String(v) === String(value ?? '') }, label)));
}

/** Clears the field errors of a form and its form-level error. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const box = form.querySelector('.form-error');
  if (box) { box.textContent = ''; box.hidden = true; }
}

/**
 * Shows an API error on a form: each `errors[].field` next to its field (matched by name, then
 * by its last path segment), the rest in the form's error box. Focuses the first invalid field.
 */
export function showErrors(form, err) {
  clearErrors(form);
  const rest = [];
  let first = null;
  for (const fe of err.errors || []) {
    const slot = findSlot(form, fe.field);
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent}; ${fe.message}` : fe.message;
      const control = slot.closest('.field')?.querySelector('input, select, textarea');
      if (control) { control.setAttribute('aria-invalid', 'true'); first = first || control; }
    } else rest.push(`${fe.field}: ${fe.message}`);
  }
  const box = form.querySelector('.form-error');
  const message = rest.length ? rest.join('; ') : (err.errors && err.errors.length ? '' : errorText(err));
  if (box && message) { box.textContent = message; box.hidden = false; }
  if (first) first.focus();
  else if (box && message) box.focus?.();
}

function findSlot(form, name) {
  const esc = (s) => s.replace(/["\\]/g, '\\$&');
  let slot = form.querySelector(`[data-error-for="${esc(name)}"]`);
  if (!slot) {
    const last = name.split(/[.\]]/).filter(Boolean).pop()?.replace(/\[\d+$/, '');
    if (last) slot = form.querySelector(`[data-error-for="${esc(last)}"]`);
  }
  return slot;
}

export function formError() {
  return h('div', { class: 'form-error', role: 'alert', tabindex: '-1', hidden: true });
}

/** Disables a button while `fn` runs and shows that it is busy. */
export async function busy(button, fn) {
  const was = button.disabled;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try { return await fn(); } finally {
    button.disabled = was;
    button.removeAttribute('aria-busy');
  }
}

export function toast(message, kind = 'ok') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const el = h('div', { class: `toast ${kind}` }, message);
  box.append(el);
  setTimeout(() => el.remove(), 4000);
}

export function badge(text, kind) {
  return h('span', { class: `badge ${kind || ''}` }, text);
}

/**
 * A table from columns [{label, cell: row => node|text, class, sort?: row => number|string}] and
 * rows. Every labelled column's header sorts it (click again to reverse; aria-sort says how), by
 * the column's `sort` value or else by the cell's text, numbers (¥1,234.56, 12%) as numbers.
 * `sortable: false` leaves the order to the page (one that keeps it in the URL).
 */
export function table(columns, rows, { caption, rowAttrs, sortable = true } = {}) {
  const body = h('tbody', null, rows.map((r) => {
    const tr = h('tr', rowAttrs ? rowAttrs(r) : null,
      columns.map((c) => h('td', { class: c.class || '', 'data-label': c.label }, c.cell(r))));
    tr.row = r;
    return tr;
  }));
  const heads = columns.map((c) => h('th', { scope: 'col', class: c.class || '' }, c.label));
  if (sortable && rows.length > 1) {
    columns.forEach((c, i) => {
      if (!c.label || c.sort === false) return;
      const th = heads[i];
      th.setAttribute('aria-sort', 'none');
      th.replaceChildren(h('button', { type: 'button', class: 'sort', onclick: () => {
        const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
        for (const other of heads) if (other.hasAttribute('aria-sort')) other.setAttribute('aria-sort', 'none');
        th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
        const key = (tr) => (typeof c.sort === 'function' ? c.sort(tr.row) : sortKey(tr.children[i].textContent));
        const sorted = [...body.children].sort((a, b) => compareKeys(key(a), key(b)) * dir);
        body.append(...sorted);
      } }, c.label));
    });
  }
  return h('div', { class: 'table-wrap' }, h('table', null,
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', null, h('tr', null, heads)),
    body));
}

/** A cell's text as a sort key: a number when it reads as one (¥-1,234.56, 12.5%, 3), else text. */
export function sortKey(text) {
  const t = String(text ?? '').trim();
  const n = t.replace(/[¥,%\s]/g, '');
  return /^-?\d+(\.\d+)?$/.test(n) ? Number(n) : t;
}

function compareKeys(x, y) {
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  return String(x).localeCompare(String(y), 'zh-CN', { numeric: true });
}

export function link(href, ...children) {
  return h('a', { href }, ...children);
}

export function pageHeader(title, ...actions) {
  return h('header', { class: 'page-header' }, h('h1', null, title), actions.length ? h('div', { class: 'actions' }, actions) : null);
}
