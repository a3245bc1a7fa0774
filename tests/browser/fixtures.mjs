// Fixture deliveries: Douyin "order paid" pushes (design §5a) for a demo KOL and product, signed
// as the bundled douyin plugin of `serve --demo` expects.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export const DOUYIN_APP_KEY = 'demo_douyin_key';
export const DOUYIN_APP_SECRET = 'demo_douyin_secret';

async function get(base, path) {
  const res = await fetch(`${base}/api/v1${path}`, { headers: { authorization: 'Bearer kh_demo_admin' } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A KOL with a Douyin account, a product of a brand it has a signed or active contract with. */
async function attributable(base) {
  const kols = (await get(base, '/kols?limit=500')).items;
  const contracts = (await get(base, '/contracts?limit=500')).items
    .filter((c) => c.platform === 'douyin' && ['signed', 'active'].includes(c.status));
  const products = (await get(base, '/products?limit=500')).items;
  for (const c of contracts) {
    const kol = kols.find((k) => k.id === c.kol_id);
    const account = kol?.accounts.find((a) => a.platform === 'douyin');
    const product = products.find((p) => p.brand_id === c.brand_id && p.listings.some((l) => l.platform === 'douyin'));
    if (account && product) {
      return { kol, account, product, item: product.listings.find((l) => l.platform === 'douyin').item_id, contract: c };
    }
  }
  throw new Error('the demo data has no Douyin contract to attribute orders to');
}

/**
 * Makes sure a `douyin` platform plugin serves /webhooks/douyin with the demo key and secret: the
 * one `serve --demo` bundles, or else `component` (the example Douyin-push plugin) installed as it.
 */
export async function ensureDouyin(base, component) {
  const auth = { authorization: 'Bearer kh_demo_admin' };
  const found = await fetch(`${base}/api/v1/plugins/douyin`, { headers: auth });
  if (found.ok) {
    const p = await found.json();
    if (p.config?.app_key === DOUYIN_APP_KEY && p.secret_names?.includes('app_secret')) return 'bundled';
  } else {
    const form = new FormData();
    form.append('manifest', 'name = "douyin"\nversion = "1.0.0"\nworld = "platform"\ngrants = ["log", "config"]\n');
    form.append('component', new Blob([readFileSync(component)]), 'douyin.wasm');
    const up = await fetch(`${base}/api/v1/plugins`, { method: 'POST', headers: auth, body: form });
    if (up.status !== 201) throw new Error(`installing the douyin plugin: ${up.status} ${await up.text()}`);
  }
  const cfg = await fetch(`${base}/api/v1/plugins/douyin/config`, {
    method: 'PUT', headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ app_key: DOUYIN_APP_KEY, app_secret: DOUYIN_APP_SECRET }),
  });
  if (!cfg.ok) throw new Error(`configuring the douyin plugin: ${cfg.status} ${await cfg.text()}`);
  return 'installed';
}

/** Posts `count` paid orders as one signed delivery; answers what was sent. */
export async function postDouyinOrders(base, { count = 3, unitFen = 9_900 } = {}) {
  const { account, item, product } = await attributable(base);
  const now = Math.floor(Date.now() / 1000);
  const seed = Date.now();
  const messages = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const units = i + 1;
    const pay = units * unitFen;
    total += pay;
    const data = {
      p_id: seed * 10 + i, s_ids: [seed * 10 + i + 1], shop_id: 4463798, order_status: 2, order_type: 0, biz: 2, pay_type: 1,
      pay_amount: pay, pay_time: now - 60 * (i + 1), product_id: item, author_id: account.account_id, room_id: '7301000000000000001', item_num: units,
    };
    messages.push({ tag: '101', msg_id: `web-${seed}-${i}`, data: JSON.stringify(data) });
  }
  const body = JSON.stringify(messages);
  const sign = createHash('md5').update(DOUYIN_APP_KEY + body + DOUYIN_APP_SECRET).digest('hex');
  const res = await fetch(`${base}/webhooks/douyin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'app-id': DOUYIN_APP_KEY, 'event-sign': sign },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST /webhooks/douyin: ${res.status} ${text}`);
  return { total_fen: total, product, response: text };
}
