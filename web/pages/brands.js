// Brands: the agency's clients, searchable and sortable, each with its categories, products and
// contracts counted; managers add and rename them and set their categories in place.
import { api, listAll, lookups, invalidate, ApiError } from '../lib/api.js';
import { h, replace, pageHeader, empty, table, field, formError, showErrors, busy, toast, select } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { date } from '../lib/format.js';

export default async function render(main, { query, can }) {
  const [brands, products, contracts] = await Promise.all([listAll('/brands'), lookups.products(), listAll('/contracts').catch(() => [])]);
  const count = (list) => list.reduce((m, x) => m.set(x.brand_id, (m.get(x.brand_id) || 0) + 1), new Map());
  const productCount = count(products);
  const contractCount = count(contracts.filter((c) => ['signed', 'active'].includes(c.status)));
  const categories = [...new Set(brands.flatMap((b) => b.categories))].sort();
  const search = h('input', { type: 'search', placeholder: t('brands.search'), 'aria-label': t('brands.search'), value: query.q || '' });
  const categorySel = select([['', t('common.allCategories')], ...categories.map((c) => [c, tt('category', c)])], query.category, { 'aria-label': t('kols.category') });
  const sortSel = select([['name', t('brands.byName')], ['products', t('brands.byProducts')], ['contracts', t('brands.byContracts')], ['created', t('brands.byCreated')]], query.sort || 'name', { 'aria-label': t('brands.sort') });
  const formSlot = h('div');
  const list = h('div');

  const update = () => {
    const params = new URLSearchParams();
    if (search.value.trim()) params.set('q', search.value.trim());
    if (categorySel.value) params.set('category', categorySel.value);
    if (sortSel.value !== 'name') params.set('sort', sortSel.value);
    history.replaceState(null, '', `/brands${params.toString() ? `?${params}` : ''}`);
    const q = search.value.trim().toLowerCase();
    const by = {
      name: (a, b) => a.name.localeCompare(b.name, 'zh'),
      products: (a, b) => (productCount.get(b.id) || 0) - (productCount.get(a.id) || 0),
      contracts: (a, b) => (contractCount.get(b.id) || 0) - (contractCount.get(a.id) || 0),
      created: (a, b) => b.created_at.localeCompare(a.created_at),
    }[sortSel.value];
    const rows = brands.filter((b) => (!q || b.name.toLowerCase().includes(q)) && (!categorySel.value || b.categories.includes(categorySel.value))).sort(by);
    replace(list, rows.length ? table([
      { label: t('brands.name'), cell: (b) => b.name },
      { label: t('kols.category'), cell: (b) => b.categories.map((c) => tt('category', c)).join('、') || '—' },
      { label: t('brands.products'), class: 'num', cell: (b) => h('a', { href: `/products?brand_id=${b.id}` }, String(productCount.get(b.id) || 0)) },
      { label: t('brands.contracts'), class: 'num', cell: (b) => h('a', { href: `/contracts?brand_id=${b.id}` }, String(contractCount.get(b.id) || 0)) },
      { label: t('brands.since'), cell: (b) => date(b.created_at) },
      { label: '', cell: (b) => (can('manage') ? h('button', { type: 'button', class: 'ghost small', onclick: () => openForm(b) }, t('common.edit')) : null) },
    ], rows, { caption: t('brands.title'), rowAttrs: (b) => ({ 'data-brand': b.id }) }) : empty(brands.length ? t('brands.noMatch') : t('brands.none')));
  };
  for (const el of [categorySel, sortSel]) el.addEventListener('change', update);
  search.addEventListener('input', update);

  const openForm = (b = null) => {
    const name = h('input', { type: 'text', value: b?.name || '', required: true });
    const cats = h('input', { type: 'text', value: (b?.categories || []).join(', ') });
    const form = h('form', { class: 'form-grid card', novalidate: true },
      h('h2', null, b ? t('brands.edit', { name: b.name }) : t('brands.new')),
      field(t('brands.name'), name, { name: 'name' }),
      field(t('kols.category'), cats, { name: 'categories', hint: t('kol.categoriesHint') }),
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, b ? t('common.save') : t('brands.create')),
        h('button', { class: 'ghost', type: 'button', onclick: () => replace(formSlot) }, t('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!name.value.trim()) return showErrors(form, new ApiError(422, { errors: [{ field: 'name', message: t('common.required') }] }));
      const body = { name: name.value.trim(), categories: cats.value.split(/[,，、\s]+/).map((c) => c.trim()).filter(Boolean) };
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          const saved = await api(b ? `/brands/${b.id}` : '/brands', { method: b ? 'PATCH' : 'POST', body });
          invalidate('brands');
          if (b) Object.assign(b, saved); else brands.push(saved);
          toast(t('common.saved'));
          replace(formSlot);
          update();
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(formSlot, form);
    name.focus();
  };

  replace(main,
    pageHeader(t('brands.title'), can('manage') ? h('button', { class: 'primary', type: 'button', onclick: () => openForm() }, t('brands.new')) : null),
    formSlot,
    h('div', { class: 'filters' }, search, categorySel, sortSel),
    list);
  update();
}
