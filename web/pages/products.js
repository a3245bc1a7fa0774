// Products: the catalogue by brand, category and role, searchable and sortable; a manager imports a
// brand's product selection sheet (XLSX or CSV) with a preview of every row's errors before anything
// is written, and anyone exports the sheet.
import { api, listAll, lookups, byId, invalidate, ApiError } from '../lib/api.js';
import { h, replace, empty, select, pageHeader, badge, table, field, formError, showErrors, busy, toast, errorBox } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan } from '../lib/format.js';
import { can, navigate } from '../app.js';

const ROLES = ['launch', 'traffic', 'profit'];

export default async function render(main, { query }) {
  const [products, brands] = await Promise.all([listAll('/products', {}, { max: 50000 }), lookups.brands()]);
  const brandById = byId(brands);
  const categories = [...new Set(products.map((p) => p.category))].sort();

  const brandSel = select([['', t('common.allBrands')], ...brands.map((b) => [b.id, b.name])], query.brand, { 'aria-label': t('products.brand') });
  const categorySel = select([['', t('common.allCategories')], ...categories.map((c) => [c, tt('category', c)])], query.category, { 'aria-label': t('products.category') });
  const roleSel = select([['', t('products.allRoles')], ...ROLES.map((r) => [r, tt('prole', r)])], query.role, { 'aria-label': t('products.role') });
  const search = h('input', { type: 'search', placeholder: t('products.search'), 'aria-label': t('products.search'), value: query.q || '' });
  const body = h('div');
  let sort = { key: query.sort || 'sku', dir: query.dir === 'desc' ? -1 : 1 };

  const columns = [
    { key: 'sku', label: t('products.sku'), value: (p) => p.sku, cell: (p) => p.sku },
    { key: 'name', label: t('products.name'), value: (p) => p.name, cell: (p) => p.name },
    { key: 'brand', label: t('products.brand'), value: (p) => brandById.get(p.brand_id)?.name || '', cell: (p) => brandById.get(p.brand_id)?.name || t('common.unknown') },
    { key: 'category', label: t('products.category'), value: (p) => p.category, cell: (p) => tt('category', p.category) },
    { key: 'role', label: t('products.role'), value: (p) => ROLES.indexOf(p.role), cell: (p) => badge(tt('prole', p.role), `role-${p.role}`) },
    { key: 'list', label: t('products.listPrice'), class: 'num', value: (p) => p.list_price_fen, cell: (p) => yuan(p.list_price_fen) },
    { key: 'floor', label: t('products.floorPrice'), class: 'num', value: (p) => p.floor_price_fen, cell: (p) => yuan(p.floor_price_fen) },
    { key: 'stock', label: t('products.stock'), class: 'num', value: (p) => p.stock_units, cell: (p) => String(p.stock_units) },
    { key: 'listings', label: t('products.listings'), value: (p) => p.listings.length, cell: (p) => p.listings.map((l) => badge(`${tt('platform', l.platform)} ${l.item_id}`, `pf-${l.platform}`)) },
  ];

  const update = () => {
    const params = new URLSearchParams();
    for (const [k, el] of [['brand', brandSel], ['category', categorySel], ['role', roleSel]]) if (el.value) params.set(k, el.value);
    if (search.value.trim()) params.set('q', search.value.trim());
    if (sort.key !== 'sku' || sort.dir < 0) { params.set('sort', sort.key); params.set('dir', sort.dir < 0 ? 'desc' : 'asc'); }
    history.replaceState(null, '', `/products${params.toString() ? `?${params}` : ''}`);
    const q = search.value.trim().toLowerCase();
    const col = columns.find((c) => c.key === sort.key) || columns[0];
    const shown = products
      .filter((p) => (!brandSel.value || p.brand_id === brandSel.value) &&
        (!categorySel.value || p.category === categorySel.value) &&
        (!roleSel.value || p.role === roleSel.value) &&
        (!q || p.name.toLowerCase().includes(q) || p.sku.toLowerCase().includes(q)))
      .sort((a, b) => {
        const x = col.value(a);
        const y = col.value(b);
        return (typeof x === 'number' ? x - y : String(x).localeCompare(String(y), 'zh-CN')) * sort.dir;
      });
    replace(body, shown.length
      ? [h('p', { class: 'muted', role: 'status' }, t('products.count', { n: shown.length })), sortableTable(columns, shown, sort, (key) => {
        sort = { key, dir: sort.key === key ? -sort.dir : 1 };
        update();
      })]
      : empty(products.length ? t('products.noMatch') : t('products.none')));
  };
  for (const el of [brandSel, categorySel, roleSel]) el.addEventListener('change', update);
  search.addEventListener('input', update);

  const exportButton = h('button', { type: 'button', class: 'secondary', 'data-action': 'export' }, t('products.export'));
  exportButton.addEventListener('click', () => busy(exportButton, () => download(brandSel.value, brandById)));

  replace(main,
    pageHeader(t('products.title'), exportButton),
    can('manage') ? importPanel(brands, brandSel.value) : null,
    h('div', { class: 'filters' }, brandSel, categorySel, roleSel, search),
    body);
  update();
}

/** A table whose column headers sort it (aria-sort says how). */
function sortableTable(columns, rows, sort, onSort) {
  const wrap = table(columns, rows, { caption: t('products.title'), rowAttrs: (p) => ({ 'data-sku': p.sku }), sortable: false });
  const ths = wrap.querySelectorAll('thead th');
  columns.forEach((c, i) => {
    const th = ths[i];
    const label = th.textContent;
    th.textContent = '';
    th.setAttribute('aria-sort', sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none');
    th.append(h('button', { type: 'button', class: 'sort', onclick: () => onSort(c.key) }, label,
      sort.key === c.key ? (sort.dir > 0 ? ' ▲' : ' ▼') : ''));
  });
  return wrap;
}

async function download(brandId, brandById) {
  const res = await api('/products/export', { query: { brand_id: brandId || undefined }, raw: true });
  const blob = await res.blob();
  const a = h('a', { href: URL.createObjectURL(blob), download: `${brandById.get(brandId)?.name || t('products.title')}.xlsx` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** The import form: a brand and a sheet; preview (dry run) first, import once the preview is clean. */
function importPanel(brands, brandId) {
  const brandSel = select([['', t('common.choose')], ...brands.map((b) => [b.id, b.name])], brandId, { name: 'brand_id', required: true });
  const file = h('input', { type: 'file', name: 'file', accept: '.xlsx,.csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv', required: true });
  const preview = h('button', { type: 'submit', class: 'secondary', 'data-action': 'preview' }, t('products.preview'));
  const commit = h('button', { type: 'button', class: 'primary', 'data-action': 'import', disabled: true }, t('products.import'));
  const result = h('div', { class: 'import-result', 'aria-live': 'polite' });
  const form = h('form', { class: 'form grid', novalidate: true },
    field(t('products.brand'), brandSel, { name: 'brand_id' }),
    field(t('products.sheet'), file, { name: 'file', hint: t('products.sheetHint') }),
    formError(),
    h('div', { class: 'form-actions' }, preview, commit));
  let checked = null;
  const reset = () => { checked = null; commit.disabled = true; replace(result); };
  brandSel.addEventListener('change', reset);
  file.addEventListener('change', reset);

  const send = async (dryRun) => {
    const f = file.files[0];
    if (!brandSel.value || !f) {
      showErrors(form, new ApiError(400, { errors: [
        ...(!brandSel.value ? [{ field: 'brand_id', message: t('common.required') }] : []),
        ...(!f ? [{ field: 'file', message: t('common.required') }] : []),
      ] }));
      return null;
    }
    const data = new FormData();
    data.append('file', f, f.name);
    try {
      return await api('/products/import', { method: 'POST', form: data, query: { brand_id: brandSel.value, dry_run: dryRun } });
    } catch (e) {
      if (e.status === 422 && Array.isArray(e.problem.row_errors)) {
        return { ...e.problem, errors: e.problem.row_errors, rejected: true };
      }
      showErrors(form, e);
      return null;
    }
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    await busy(preview, async () => {
      reset();
      const report = await send(true);
      if (!report) return;
      showReport(result, report);
      if (!report.errors.length) {
        checked = { brand: brandSel.value, file: file.files[0] };
        commit.disabled = false;
      }
    });
  });
  commit.addEventListener('click', () => busy(commit, async () => {
    if (!checked || checked.brand !== brandSel.value || checked.file !== file.files[0]) return;
    const report = await send(false);
    if (!report) return;
    showReport(result, report);
    if (report.imported) {
      toast(t('products.imported', { created: report.created, updated: report.updated }));
      invalidate('products');
      navigate(`/products?brand=${checked.brand}`, { replace: true });
    }
  }));

  // Closed until needed: the catalogue is what most visits are for.
  return h('details', { class: 'panel import' },
    h('summary', null, h('h2', null, t('products.importTitle'))),
    h('p', { class: 'hint' }, t('products.importHint')),
    form, result);
}

function showReport(box, report) {
  const summary = t(report.imported ? 'products.reportImported' : 'products.reportPreview', {
    rows: report.rows ?? 0, created: report.created ?? 0, updated: report.updated ?? 0,
  });
  if (!report.errors.length) {
    replace(box, h('p', { class: 'ok', role: 'status' }, summary));
    return;
  }
  const rows = new Set(report.errors.map((e) => e.row));
  replace(box,
    errorBox({ detail: t('products.reportErrors', { n: rows.size, rows: report.rows ?? 0 }) }),
    table([
      { label: t('products.row'), class: 'num', cell: (e) => String(e.row) },
      { label: t('products.column'), cell: (e) => e.column || '—' },
      { label: t('products.problem'), cell: (e) => rowMessage(e) },
    ], report.errors, { caption: t('products.reportErrorsCaption'), rowAttrs: (e) => ({ 'data-row': e.row, 'data-code': e.code }) }));
}

/** A row error in the UI's language: by its code, else the server's text. */
function rowMessage(e) {
  const key = `importCode.${e.code}`;
  const text = t(key);
  return text === key ? e.message : text;
}
