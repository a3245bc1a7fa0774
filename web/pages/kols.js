// The KOL pyramid: tiers, platforms, categories; each KOL with its contracts and GMV.
import { api, listAll, lookups, byId } from '../lib/api.js';
import { h, replace, empty, select, pageHeader, badge } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan, pct, compact } from '../lib/format.js';

const TIERS = ['head', 'waist', 'tail'];
const PLATFORMS = ['taobao', 'douyin', 'kuaishou'];

export default async function render(main, { query }) {
  const [kols, contracts, brands, gmv] = await Promise.all([
    lookups.kols(),
    listAll('/contracts'),
    lookups.brands(),
    gmvByKol(),
  ]);
  const brandById = byId(brands);
  const contractsByKol = new Map();
  for (const c of contracts) {
    if (!contractsByKol.has(c.kol_id)) contractsByKol.set(c.kol_id, []);
    contractsByKol.get(c.kol_id).push(c);
  }
  const categories = [...new Set(kols.flatMap((k) => k.categories))].sort();

  const platformSel = select([['', t('common.allPlatforms')], ...PLATFORMS.map((p) => [p, tt('platform', p)])], query.platform, { 'aria-label': t('kols.platform') });
  const categorySel = select([['', t('common.allCategories')], ...categories.map((c) => [c, tt('category', c)])], query.category, { 'aria-label': t('kols.category') });
  const search = h('input', { type: 'search', placeholder: t('kols.search'), 'aria-label': t('kols.search'), value: query.q || '' });
  const body = h('div');

  const update = () => {
    const params = new URLSearchParams();
    if (platformSel.value) params.set('platform', platformSel.value);
    if (categorySel.value) params.set('category', categorySel.value);
    if (search.value.trim()) params.set('q', search.value.trim());
    history.replaceState(null, '', `/kols${params.toString() ? `?${params}` : ''}`);
    const q = search.value.trim().toLowerCase();
    const shown = kols.filter((k) =>
      (!platformSel.value || k.accounts.some((a) => a.platform === platformSel.value)) &&
      (!categorySel.value || k.categories.includes(categorySel.value)) &&
      (!q || k.name.toLowerCase().includes(q)));
    replace(body, shown.length ? [pyramid(shown, gmv), tiers(shown)] : empty(t('kols.none')));
  };
  platformSel.addEventListener('change', update);
  categorySel.addEventListener('change', update);
  search.addEventListener('input', update);

  const tiers = (shown) => TIERS.map((tier) => {
    const list = shown.filter((k) => k.tier === tier)
      .sort((a, b) => (kolGmv(gmv, b.id) ?? 0) - (kolGmv(gmv, a.id) ?? 0) || followers(b) - followers(a));
    if (!list.length) return null;
    return h('section', { class: 'tier-section', id: `tier-${tier}`, 'aria-labelledby': `tier-${tier}-h` },
      h('h2', { id: `tier-${tier}-h` }, tt('tier', tier), h('span', { class: 'count' }, ` ${list.length}`)),
      h('div', { class: 'cards' }, list.map((k) => kolCard(k, contractsByKol.get(k.id) || [], brandById, gmv))));
  });

  replace(main,
    pageHeader(t('kols.title')),
    h('div', { class: 'filters' }, platformSel, categorySel, search),
    gmv === null ? h('p', { class: 'notice' }, t('gmv.unavailable')) : null,
    body);
  update();
}

async function gmvByKol() {
  try {
    const res = await api('/gmv', { query: { by: 'kol' } });
    return new Map(res.items.map((i) => [i.key, i]));
  } catch (e) {
    if (e.status === 404 || e.status === 403) return null;
    throw e;
  }
}

const kolGmv = (gmv, id) => (gmv ? gmv.get(id)?.net_gmv_fen ?? 0 : null);
const followers = (k) => k.accounts.reduce((s, a) => s + a.followers, 0);

function pyramid(shown, gmv) {
  const total = shown.reduce((s, k) => s + (kolGmv(gmv, k.id) ?? 0), 0);
  return h('div', { class: 'pyramid', role: 'list', 'aria-label': t('kols.pyramid') }, TIERS.map((tier) => {
    const list = shown.filter((k) => k.tier === tier);
    const sum = list.reduce((s, k) => s + (kolGmv(gmv, k.id) ?? 0), 0);
    const share = total > 0 ? Math.round((sum * 1000) / total) / 10 : null;
    return h('a', { class: `level level-${tier}`, href: `#tier-${tier}`, role: 'listitem', 'data-tier': tier },
      h('span', { class: 'level-name' }, tt('tier', tier)),
      h('span', { class: 'level-count' }, t('kols.count', { n: list.length })),
      gmv ? h('span', { class: 'level-gmv' }, `${yuan(sum)}${share !== null ? ` · ${share}%` : ''}`) : null);
  }));
}

function kolCard(k, contracts, brandById, gmv) {
  const byStatus = {};
  for (const c of contracts) byStatus[c.status] = (byStatus[c.status] || 0) + 1;
  const g = gmv?.get(k.id);
  return h('article', { class: 'card kol', 'data-kol': k.id },
    h('header', null,
      h('h3', null, h('a', { href: `/kols/${k.id}` }, k.name)),
      badge(tt('tier', k.tier), `tier-${k.tier}`)),
    h('ul', { class: 'accounts', 'aria-label': t('kols.accounts') }, k.accounts.map((a) =>
      h('li', null, badge(tt('platform', a.platform), `pf-${a.platform}`), ` ${compact(a.followers)} ${t('kols.followers')}`))),
    h('p', { class: 'chips' }, k.categories.map((c) => h('span', { class: 'chip' }, tt('category', c)))),
    h('dl', { class: 'figures' },
      h('div', null, h('dt', null, t('kols.gmv')), h('dd', { class: 'num' }, gmv ? yuan(g?.net_gmv_fen ?? 0) : '—')),
      h('div', null, h('dt', null, t('kols.orders')), h('dd', { class: 'num' }, gmv ? String(g?.orders ?? 0) : '—')),
      h('div', null, h('dt', null, t('kols.share')), h('dd', { class: 'num' }, pct(k.revenue_share_bp)))),
    h('details', null,
      h('summary', null, t('kols.contracts', { n: contracts.length }),
        h('span', { class: 'status-mini' }, Object.entries(byStatus).map(([s, n]) => badge(`${tt('status', s)} ${n}`, `st-${s}`)))),
      contracts.length
        ? h('ul', { class: 'contract-list' }, contracts.map((c) => h('li', null,
          h('a', { href: `/contracts/${c.id}` }, brandById.get(c.brand_id)?.name || t('common.unknown')),
          ' ', badge(tt('status', c.status), `st-${c.status}`),
          h('span', { class: 'muted' }, ` ${tt('platform', c.platform)} · ${yuan(c.slot_fee_fen)} · ${pct(c.commission_bp)}`))))
        : h('p', { class: 'muted' }, t('kols.noContracts'))));
}
