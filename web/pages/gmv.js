// Orders and GMV: totals, GMV per day, per session, KOL and brand, and the order list.
import { api, lookups, byId, listIfAvailable } from '../lib/api.js';
import { h, replace, pageHeader, select, empty, errorBox, loading, table, badge, busy } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { yuan, yuanShort, int, dateTime, utcToLocalDate } from '../lib/format.js';
import { barChart, timeChart } from '../lib/chart.js';

/** "林小满 Lin Xiaoman" -> "林小满" for a chart label; other names stay whole. */
const shortName = (name) => (/^[\u3400-\u9fff]+\s/.test(name) ? name.split(/\s/)[0] : name);

const ORDER_STATUSES = ['paid', 'partially_refunded', 'refunded', 'settled', 'void'];

export default async function render(main, { query }) {
  const [kols, brands, products, sessions] = await Promise.all([
    lookups.kols(), lookups.brands(), lookups.products().catch(() => []), listIfAvailable('/sessions').then((s) => s || []),
  ]);
  const names = {
    kol: byId(kols), brand: byId(brands), product: byId(products), session: byId(sessions),
  };
  const range = select([['7', t('gmv.days', { n: 7 })], ['30', t('gmv.days', { n: 30 })], ['90', t('gmv.days', { n: 90 })]], query.days || '30', { 'aria-label': t('gmv.range') });
  const refresh = h('button', { type: 'button', class: 'ghost' }, t('common.refresh'));
  const charts = h('div');
  const orders = h('div');

  const load = async () => {
    const days = Number(range.value);
    const start = new Date();
    start.setHours(0, 0, 0, 0);
    start.setDate(start.getDate() - (days - 1));
    const end = new Date(start);
    end.setDate(end.getDate() + days);
    // Days are the browser's local days: the server buckets by=day at this offset.
    const bounds = { from: start.toISOString(), to: end.toISOString(), tz_offset_minutes: -start.getTimezoneOffset() };
    replace(charts, loading());
    let byDay; let bySession; let byKol; let byBrand; let total;
    try {
      const reports = await Promise.all(['day', 'session', 'kol', 'brand'].map((by) => api('/gmv', { query: { by, ...bounds } })));
      [byDay, bySession, byKol, byBrand] = reports.map((r) => r.items);
      total = reports[0].total;
    } catch (e) {
      return replace(charts, e.status === 404 ? h('p', { class: 'notice' }, t('gmv.unavailable')) : errorBox(e));
    }
    const totals = total ? {
      gmv: total.gmv_fen, net: total.net_gmv_fen, refunded: total.refunded_fen, orders: total.orders, units: total.units,
    } : byDay.reduce((s, i) => ({
      gmv: s.gmv + i.gmv_fen, net: s.net + i.net_gmv_fen, refunded: s.refunded + i.refunded_fen, orders: s.orders + i.orders, units: s.units + i.units,
    }), { gmv: 0, net: 0, refunded: 0, orders: 0, units: 0 });
    // One column per local day, gaps as zero.
    const perDay = new Map(byDay.map((i) => [i.key, i]));
    const points = [];
    for (let d = new Date(start); d < end; d.setDate(d.getDate() + 1)) {
      const key = utcToLocalDate(d.toISOString());
      points.push({ key, value: perDay.get(key)?.gmv_fen ?? 0 });
    }
    const named = (items, kind) => items
      .map((i) => ({ label: shortName(label(kind, i.key)), title: label(kind, i.key), value: i.gmv_fen }))
      .sort((a, b) => b.value - a.value);
    replace(charts,
      h('dl', { class: 'figures wide kpis' },
        h('div', null, h('dt', null, t('gmv.gmv')), h('dd', { class: 'num', 'data-figure': 'gmv-total' }, yuan(totals.gmv))),
        h('div', null, h('dt', null, t('gmv.net')), h('dd', { class: 'num' }, yuan(totals.net))),
        h('div', null, h('dt', null, t('gmv.refunded')), h('dd', { class: 'num' }, yuan(totals.refunded))),
        h('div', null, h('dt', null, t('gmv.orders')), h('dd', { class: 'num', 'data-figure': 'orders' }, int(totals.orders)))),
      h('section', { class: 'card chart-card', 'aria-labelledby': 'gmv-day-h' },
        h('h2', { id: 'gmv-day-h' }, t('gmv.perDay')),
        totals.orders ? timeChart(points, { fmt: yuan, short: yuanShort, label: t('gmv.perDay'), width: charts.clientWidth - 36 }) : empty(t('gmv.noOrders'))),
      h('div', { class: 'chart-grid' },
        [['session', bySession, 'gmv.perSession'], ['kol', byKol, 'gmv.perKol'], ['brand', byBrand, 'gmv.perBrand']].map(([kind, items, title]) =>
          h('section', { class: 'card chart-card', 'aria-labelledby': `gmv-${kind}-h`, 'data-chart': kind },
            h('h2', { id: `gmv-${kind}-h` }, t(title)),
            items.length ? barChart(named(items, kind), { fmt: yuan, label: t(title) }) : empty(t('gmv.noOrders'))))));
  };

  const label = (kind, key) => {
    if (key === null || key === undefined || key === '') return kind === 'session' ? t('gmv.noSession') : t('gmv.unattributed');
    const x = names[kind]?.get(key);
    return x ? (x.name || x.title) : String(key).slice(0, 8);
  };

  const attributed = select([['', t('orders.all')], ['true', t('orders.attributed')], ['false', t('orders.unattributed')]], query.attributed, { 'aria-label': t('orders.attribution') });
  const status = select([['', t('common.allStatuses')], ...ORDER_STATUSES.map((s) => [s, tt('ostatus', s)])], query.status, { 'aria-label': t('orders.status') });
  const loadOrders = async () => {
    replace(orders, loading());
    const rows = [];
    const more = h('button', { type: 'button', class: 'ghost' }, t('common.more'));
    const list = h('div');
    let cursor = null;
    const page = async () => {
      const res = await api('/orders', { query: { attributed: attributed.value, status: status.value, limit: 50, cursor } });
      rows.push(...res.items);
      cursor = res.next_cursor;
      replace(list, rows.length ? table([
        { label: t('orders.paidAt'), cell: (o) => dateTime(o.paid_at) },
        { label: t('orders.platform'), cell: (o) => tt('platform', o.platform) },
        { label: t('orders.order'), cell: (o) => h('code', null, o.platform_order_id) },
        { label: t('orders.kol'), cell: (o) => label('kol', o.kol_id) },
        { label: t('orders.product'), cell: (o) => (o.product_id ? label('product', o.product_id) : h('code', null, o.item_id || '—')) },
        { label: t('orders.units'), class: 'num', cell: (o) => int(o.units) },
        { label: t('orders.paid'), class: 'num', cell: (o) => yuan(o.paid_fen) },
        { label: t('orders.net'), class: 'num', cell: (o) => yuan(o.net_fen) },
        { label: t('orders.status'), cell: (o) => h('span', { class: 'row' }, badge(tt('ostatus', o.status), `os-${o.status}`),
          o.attributed ? null : h('span', { class: 'badge bad', title: o.unattributed_reason || '' }, t('orders.unattributedShort'))) },
      ], rows, { caption: t('orders.title') }) : empty(t('orders.none')));
      more.hidden = !cursor;
    };
    more.addEventListener('click', () => busy(more, page));
    try {
      await page();
      replace(orders, list, more);
    } catch (e) {
      replace(orders, e.status === 404 ? h('p', { class: 'notice' }, t('orders.unavailable')) : errorBox(e));
    }
  };

  range.addEventListener('change', () => {
    history.replaceState(null, '', `/gmv?days=${range.value}`);
    load();
  });
  attributed.addEventListener('change', loadOrders);
  status.addEventListener('change', loadOrders);
  refresh.addEventListener('click', () => busy(refresh, () => Promise.all([load(), loadOrders()])));

  replace(main,
    pageHeader(t('gmv.title'), range, refresh),
    charts,
    h('section', { class: 'orders', 'aria-labelledby': 'orders-h' },
      h('div', { class: 'section-head' }, h('h2', { id: 'orders-h' }, t('orders.title')), h('div', { class: 'filters' }, attributed, status)),
      orders));
  await Promise.all([load(), loadOrders()]);
}
