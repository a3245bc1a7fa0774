// Browser tests of the dashboard: a real `kolhost serve --demo` on a free port with a temporary
// SQLite database, driven by Debian's Chromium through playwright-core (no browser download).
//
// KOLHOST_BIN      the kolhost binary (default $CARGO_TARGET_DIR/debug/kolhost, else target/debug/kolhost)
// KOLHOST_EXAMPLE_PLUGIN  a platform component to upload (default: the build step's example_platform.wasm)
// CHROMIUM_PATH    the browser (default /usr/bin/chromium)
//
// A missing binary, browser or plugin fails the run. Screenshots go to screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { ensureDouyin, postDouyinOrders } from './fixtures.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const targetDir = process.env.CARGO_TARGET_DIR || join(repo, 'target');
const BIN = process.env.KOLHOST_BIN || join(targetDir, 'debug', 'kolhost');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const PLUGIN = process.env.KOLHOST_EXAMPLE_PLUGIN || join(targetDir, 'wasm-plugins', 'wasm32-wasip2', 'release', 'example_platform.wasm');
const SHOTS = join(here, 'screenshots');
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

let server;
let serverLog = '';
let base;
let browser;
let workDir;

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitHealthy(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`kolhost exited with ${server.exitCode}:\n${serverLog}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return;
    } catch { /* not listening yet */ }
    if (Date.now() > until) throw new Error(`kolhost did not become healthy:\n${serverLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  assert.ok(existsSync(BIN), `kolhost binary not found at ${BIN} (build it with cargo build -p kolhost, or set KOLHOST_BIN)`);
  assert.ok(existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`);
  mkdirSync(SHOTS, { recursive: true });
  workDir = mkdtempSync(join(tmpdir(), 'kolhost-browser-'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(BIN, ['serve', '--demo'], {
    cwd: workDir,
    env: {
      ...process.env,
      KOLHOST_DATABASE_URL: `sqlite://${join(workDir, 'kolhost.db')}?mode=rwc`,
      KOLHOST_LISTEN: `127.0.0.1:${port}`,
      RUST_LOG: process.env.RUST_LOG || 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d) => { serverLog = (serverLog + d).slice(-20000); };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  await waitHealthy(base, 120_000);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => { server.once('exit', r); setTimeout(r, 5000); });
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

/** A page at a viewport, signed in with `token` (or not), that records console errors. */
async function open(token, viewport = DESKTOP, path = '/', lang = 'zh-CN') {
  const context = await browser.newContext({ viewport, locale: lang, timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    // An API answering 4xx is part of what the tests check; the browser logs it as an error.
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) page.errors.push(`console: ${m.text()}`);
  });
  if (token) {
    await page.goto(`${base}/`);
    await page.evaluate(([t, l]) => { localStorage.setItem('kolhost.token', t); localStorage.setItem('kolhost.lang', l); }, [token, lang]);
  }
  await page.goto(`${base}${path}`);
  return page;
}

async function done(page, name) {
  if (name) await shot(page, name);
  const errors = page.errors;
  await page.context().close();
  assert.deepEqual(errors, [], 'no console errors');
}

async function shot(page, name) {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function waitLoaded(page) {
  await page.waitForSelector('main.main');
  await page.waitForFunction(() => !document.querySelector('main .loading'));
}

test('the host serves the dashboard: pages fall back to index.html, API paths stay problems', async () => {
  const index = await fetch(`${base}/contracts/some-id`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /text\/html/);
  assert.match(index.headers.get('content-security-policy'), /default-src 'self'/);
  assert.match(await index.text(), /<script type="module" src="\/app.js">/);
  const js = await fetch(`${base}/app.js`);
  assert.match(js.headers.get('content-type'), /text\/javascript/);
  assert.equal(js.headers.get('cache-control'), 'no-cache');
  const again = await fetch(`${base}/app.js`, { headers: { 'if-none-match': js.headers.get('etag') } });
  assert.equal(again.status, 304);
  const api = await fetch(`${base}/api/v1/no-such-thing`);
  assert.equal(api.status, 404);
  assert.equal(api.headers.get('content-type'), 'application/problem+json');
  assert.equal((await fetch(`${base}/api/v1/kols`)).status, 401, 'API routes keep priority');
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
  assert.match(await (await fetch(`${base}/metrics`)).text(), /kolhost_http_requests_total/);
  assert.equal((await fetch(`${base}/missing.js`)).status, 404);
});

test('sign in: a wrong token is shown at the field; the right one opens the KOL pyramid', async () => {
  const page = await open(null, DESKTOP);
  await page.getByLabel('API 令牌').fill('kh_not_a_token');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByText('令牌无效').waitFor();
  assert.equal(await page.getByLabel('API 令牌').getAttribute('aria-invalid'), 'true');
  await shot(page, 'signin-error-desktop');
  await page.getByLabel('API 令牌').fill('kh_demo_admin');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: '达人金字塔', level: 1 }).waitFor();
  await waitLoaded(page);
  const levels = await page.locator('.pyramid .level').allInnerTexts();
  assert.equal(levels.length, 3);
  assert.match(levels[0], /头部/);
  assert.match(levels[2], /尾部/);
  assert.ok(await page.locator('article.kol').count() >= 6, 'every demo KOL has a card');
  // Filter by platform: only KOLs with a Kuaishou account stay.
  await page.getByLabel('平台').selectOption('kuaishou');
  for (const card of await page.locator('article.kol').all()) assert.match(await card.innerText(), /快手/);
  await page.getByLabel('平台').selectOption('');
  // A KOL's contracts open from its card.
  await page.locator('article.kol details summary').first().click();
  assert.ok(await page.locator('article.kol details[open] .contract-list a').count() >= 1);
  // Switch to English and back.
  await page.getByLabel('语言').first().selectOption('en');
  await page.getByRole('heading', { name: 'KOL pyramid', level: 1 }).waitFor();
  await page.getByLabel('Language').first().selectOption('zh-CN');
  await page.getByRole('heading', { name: '达人金字塔', level: 1 }).waitFor();
  await done(page, 'kols-desktop');
});

test('create a contract (errors next to fields), propose, sign and amend it', async () => {
  const page = await open('kh_demo_manager', DESKTOP, '/contracts');
  await waitLoaded(page);
  await page.getByRole('button', { name: '新建合同' }).click();
  const form = page.locator('form.form-grid');
  // Nothing filled in: each missing field says so, next to itself.
  await form.getByRole('button', { name: '创建草稿' }).click();
  await form.locator('[data-error-for="brand_id"]').getByText('必填').waitFor();
  await form.getByLabel('品牌').selectOption({ index: 1 });
  await form.getByLabel('主播').selectOption({ index: 1 });
  await form.getByLabel('平台').selectOption({ index: 1 });
  await form.getByLabel('开始').fill('2027-01-01');
  await form.getByLabel('结束').fill('2027-06-30');
  await form.getByLabel('坑位费').fill('2000');
  // A commission the server refuses (over 100%): its problem+json lands next to the field.
  await form.getByLabel('佣金比例').fill('200');
  await form.getByRole('button', { name: '创建草稿' }).click();
  const commissionError = form.locator('[data-error-for="commission_bp"]');
  await commissionError.waitFor({ state: 'visible' });
  assert.ok((await commissionError.innerText()).length > 0);
  await shot(page, 'contract-form-error-desktop');
  await form.getByLabel('佣金比例').fill('20');
  await form.getByRole('button', { name: '创建草稿' }).click();
  await page.getByRole('heading', { name: '条款' }).waitFor();
  assert.match(await page.locator('.page-header .badge').first().innerText(), /草稿/);
  await page.getByRole('button', { name: '提议' }).click();
  await page.locator('.page-header .badge', { hasText: '已提议' }).waitFor();
  await page.getByRole('button', { name: '签署' }).click();
  await page.locator('.page-header .badge', { hasText: '已签署' }).waitFor();
  // Signed: terms change only by amendment, which makes version 2; version 1 stays listed.
  await page.getByRole('button', { name: '补充协议' }).click();
  await page.getByLabel('承诺场次').fill('6');
  await page.getByLabel('原因').fill('加量 more sessions');
  await page.getByRole('button', { name: '保存补充协议' }).click();
  await page.locator('.versions li[data-version="2"]').waitFor();
  assert.equal(await page.locator('.versions li[data-version="1"]').count(), 1);
  assert.match(await page.locator('.versions li[data-version="2"] .changed').innerText(), /6/);
  await done(page, 'contract-signed-desktop');
});

test('allocation: preview the product x KOL matrix, then apply it', async () => {
  const page = await open('kh_demo_admin', DESKTOP, '/allocation');
  await waitLoaded(page);
  await page.getByLabel('策略').selectOption('script:pyramid');
  // Malformed parameters are caught at the field before anything is sent.
  await page.getByLabel('参数（JSON）').fill('{oops');
  await page.getByRole('button', { name: '预览' }).click();
  await page.locator('[data-error-for="params"]').waitFor({ state: 'visible' });
  await page.getByLabel('参数（JSON）').fill('{}');
  await page.getByRole('button', { name: '预览' }).click();
  await page.locator('table.matrix').waitFor();
  const assignments = Number(await page.locator('[data-figure="assignments"]').innerText());
  assert.ok(assignments > 0, 'the pyramid strategy assigns products');
  assert.equal(await page.locator('[data-figure="violations"]').innerText(), '0');
  assert.ok(await page.locator('table.matrix td.assigned').count() > 0);
  await shot(page, 'allocation-preview-desktop');
  await page.getByRole('button', { name: '应用' }).click();
  await page.getByText('已应用：排品已写入').waitFor();
  // The written lineups show on a session.
  const lineups = await (await fetch(`${base}/api/v1/sessions?limit=500`, { headers: { authorization: 'Bearer kh_demo_admin' } })).json();
  assert.ok(lineups.items.some((s) => s.lineup.length > 3), 'a lineup grew');
  await done(page, 'allocation-applied-desktop');
});

test('allocation violations are highlighted in the matrix', async () => {
  // A script that prices everything at one fen: every cell breaks the floor price.
  const source = [
    'function allocate(ctx)',
    '  local out = {}',
    '  for _, s in ipairs(ctx.sessions) do',
    '    for _, c in ipairs(ctx.contracts) do',
    '      if c.kol_id == s.kol_id and (c.status == "signed" or c.status == "active") then',
    '        for _, p in ipairs(ctx.products) do',
    '          if p.brand_id == c.brand_id and #out < 6 then',
    '            out[#out + 1] = { product_id = p.id, kol_id = s.kol_id, session_id = s.id, units = 1, live_price_fen = 1, reason = "too cheap" }',
    '          end',
    '        end',
    '      end',
    '    end',
    '  end',
    '  return { assignments = out, notes = { "prices at one fen" } }',
    'end',
  ].join('\n');
  const res = await fetch(`${base}/api/v1/scripts`, {
    method: 'POST', headers: { authorization: 'Bearer kh_demo_scripter', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'too_cheap', source }),
  });
  assert.equal(res.status, 201);
  const page = await open('kh_demo_scripter', DESKTOP, '/allocation');
  await waitLoaded(page);
  await page.getByLabel('策略').selectOption('script:too_cheap');
  await page.getByRole('button', { name: '预览' }).click();
  await page.locator('table.matrix td.violation').first().waitFor();
  assert.notEqual(await page.locator('[data-figure="violations"]').innerText(), '0');
  assert.ok(await page.locator('.violations').getByText('低于控价').first().isVisible());
  await done(page, 'allocation-violations-desktop');
});

test('upload a plugin: a bad manifest is shown at its field, a good one becomes active', async () => {
  assert.ok(existsSync(PLUGIN), `example plugin not found at ${PLUGIN} (the host build step makes it; or set KOLHOST_EXAMPLE_PLUGIN)`);
  const page = await open('kh_demo_integrator', DESKTOP, '/plugins');
  await waitLoaded(page);
  await page.getByRole('button', { name: '上传插件' }).first().click();
  await page.getByLabel('清单（TOML 或 JSON）').fill('name = "web-echo"\nversion = 1');
  await page.getByLabel('组件（.wasm）').setInputFiles(PLUGIN);
  await page.getByRole('button', { name: '上传', exact: true }).click();
  const manifestError = page.locator('[data-error-for="manifest"]');
  await manifestError.waitFor({ state: 'visible' });
  await shot(page, 'plugin-upload-error-desktop');
  await page.getByLabel('清单（TOML 或 JSON）').fill('name = "web-echo"\nversion = "0.1.0"\nworld = "platform"\ngrants = ["log", "config", "clock", "kv"]\n');
  await page.getByRole('button', { name: '上传', exact: true }).click();
  const card = page.locator('article[data-plugin="web-echo"]');
  await card.waitFor();
  assert.match(await card.innerText(), /0\.1\.0/);
  assert.match(await card.innerText(), /运行中/);
  // Disable, then enable again.
  await card.getByRole('button', { name: '停用' }).click();
  await page.locator('article[data-plugin="web-echo"]', { hasText: '已停用' }).waitFor();
  await page.locator('article[data-plugin="web-echo"]').getByRole('button', { name: '启用' }).click();
  await page.locator('article[data-plugin="web-echo"]', { hasText: '运行中' }).waitFor();
  // Config: a secret is kept by name only.
  await page.locator('article[data-plugin="web-echo"]').getByRole('button', { name: '配置' }).click();
  const cfg = page.locator('form.config-form');
  await cfg.getByLabel('键').first().fill('app_key');
  await cfg.getByLabel('值').first().fill('k1');
  await cfg.getByRole('button', { name: '添加一项' }).click();
  await cfg.getByLabel('键').nth(1).fill('app_secret');
  await cfg.getByLabel('值').nth(1).fill('s3cr3t');
  await cfg.getByRole('button', { name: '保存' }).click();
  await page.locator('article[data-plugin="web-echo"] .chip.secret', { hasText: 'app_secret' }).waitFor();
  assert.doesNotMatch(await page.content(), /s3cr3t/);
  await done(page, 'plugins-desktop');
});

test('scripts: a dry run with an error shows it at its line', async () => {
  const page = await open('kh_demo_scripter', DESKTOP, '/scripts');
  await waitLoaded(page);
  await page.getByLabel('名称').fill('broken_at_four');
  // A runtime error on line 4.
  await page.getByLabel('Lua 源码').fill('function allocate(ctx)\n  local n = 0\n  local t = nil\n  return t.assignments\nend\n');
  await page.getByRole('button', { name: '保存并试运行' }).click();
  const lineError = page.locator('.line-error');
  await lineError.waitFor({ state: 'visible' });
  assert.equal(await lineError.getAttribute('data-line'), '4');
  assert.match(await lineError.innerText(), /第 4 行/);
  assert.equal(await page.locator('.gutter span.err').innerText(), '4\n');
  await shot(page, 'script-runtime-error-desktop');
  // A syntax error is refused at save, with its line, and nothing is stored.
  await page.getByLabel('Lua 源码').fill('function allocate(ctx)\n  return {assignments = {}, notes = {}}\nend\nend\n');
  await page.getByRole('button', { name: '保存并试运行' }).click();
  await page.locator('.line-error[data-line="4"]').waitFor();
  // Fixed: the dry run passes.
  await page.getByLabel('Lua 源码').fill('function allocate(ctx)\n  return {assignments = {}, notes = {"ok"}}\nend\n');
  await page.getByRole('button', { name: '保存并试运行' }).click();
  await page.getByRole('heading', { name: '试运行结果' }).waitFor();
  assert.equal(await page.locator('.line-error').isVisible(), false);
  await done(page, 'scripts-desktop');
});

test('products: a 50-row sheet with two bad rows names both and writes nothing; fixed, it imports', async () => {
  const header = '商品名称,SKU,类目,角色,标价,最低价,库存,卖点文案\n';
  const rows = Array.from({ length: 50 }, (_, i) => [`浏览器测试面膜 ${i}`, `WEB-${String(i).padStart(3, '0')}`, '美妆', ['首发', '引流', '利润'][i % 3], `${100 + i}.9`, `${80 + i}.5`, String(500 + i), '补水保湿']);
  const csv = (rs) => Buffer.from(header + rs.map((r) => r.join(',')).join('\n') + '\n');
  const bad = rows.map((r) => [...r]);
  bad[6][5] = '999';
  bad[29][3] = '爆款';
  const countWeb = async () => {
    const res = await fetch(`${base}/api/v1/products?limit=500`, { headers: { authorization: 'Bearer kh_demo_admin' } });
    return (await res.json()).items.filter((p) => p.sku.startsWith('WEB-')).length;
  };

  const page = await open('kh_demo_manager', DESKTOP, '/products');
  await waitLoaded(page);
  await page.locator('details.import summary').click();
  const form = page.locator('details.import form');
  await form.locator('select[name="brand_id"]').selectOption({ index: 1 });
  await form.locator('input[name="file"]').setInputFiles({ name: '选品表.csv', mimeType: 'text/csv', buffer: csv(bad) });
  await form.getByRole('button', { name: '预览' }).click();
  const errorRows = page.locator('.import-result tbody tr');
  await errorRows.first().waitFor();
  assert.deepEqual(await errorRows.evaluateAll((trs) => trs.map((tr) => tr.dataset.row)), ['8', '31']);
  const problems = await page.locator('.import-result').innerText();
  assert.match(problems, /最低价不能高于标价/);
  assert.match(problems, /角色须为/);
  assert.doesNotMatch(problems, /[A-Za-z]{4,}/, 'no English in the Chinese page');
  assert.equal(await form.getByRole('button', { name: '导入' }).isDisabled(), true);
  assert.equal(await countWeb(), 0, 'a preview writes nothing');
  await shot(page, 'products-import-errors-desktop');

  await form.locator('input[name="file"]').setInputFiles({ name: '选品表.csv', mimeType: 'text/csv', buffer: csv(rows) });
  await form.getByRole('button', { name: '预览' }).click();
  await page.locator('.import-result .ok').waitFor();
  assert.match(await page.locator('.import-result').innerText(), /将新增 50 个/);
  await form.getByRole('button', { name: '导入' }).click();
  await page.locator('tr[data-sku="WEB-007"]').waitFor();
  assert.equal(await countWeb(), 50);
  // Searching narrows to the sheet's products; sorting by list price, highest first, puts the
  // sheet's last row first.
  await page.getByRole('searchbox', { name: '按名称或 SKU 搜索' }).fill('WEB-');
  await page.locator('th button.sort', { hasText: '标价' }).click();
  await page.locator('th button.sort', { hasText: '标价' }).click();
  assert.equal(await page.locator('tbody tr').first().getAttribute('data-sku'), 'WEB-049');
  await done(page, 'products-desktop');
});

test('scripts: draft, dry-run and publish while allocations keep running the published version', async () => {
  const source = (tag) => `function allocate(ctx)\n  return {assignments = {}, notes = {"${tag}"}}\nend\n`;
  const call = async (path, body) => (await fetch(`${base}/api/v1${path}`, {
    method: 'POST', headers: { authorization: 'Bearer kh_demo_scripter', 'content-type': 'application/json' }, body: JSON.stringify(body),
  })).json();
  const allocated = async () => (await call('/allocations', { strategy: { script: 'web_publish' } })).notes;
  await call('/scripts', { name: 'web_publish', source: source('live v1') });
  assert.deepEqual(await allocated(), ['live v1']);

  const page = await open('kh_demo_scripter', DESKTOP, '/scripts/web_publish');
  await waitLoaded(page);
  assert.match(await page.locator('.pub-state').innerText(), /已发布：第 1 版/);
  await page.getByLabel('Lua 源码').fill(source('draft v2'));
  await page.getByRole('button', { name: '保存并试运行' }).click();
  await page.getByRole('heading', { name: '试运行结果' }).waitFor();
  assert.match(await page.locator('.dry-run .notes').innerText(), /draft v2/, 'the dry run ran the draft');
  assert.match(await page.locator('.pub-state').innerText(), /草稿：第 2 版/);
  assert.deepEqual(await allocated(), ['live v1'], 'allocations still run the published version');
  await page.locator('.script-diff summary').click();
  assert.match(await page.locator('.script-diff .add').first().innerText(), /draft v2/);
  assert.match(await page.locator('.script-diff .del').first().innerText(), /live v1/);
  await shot(page, 'scripts-draft-desktop');

  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: '发布第 2 版' }).click();
  await page.locator('.pub-state', { hasText: '已发布：第 2 版' }).waitFor();
  assert.deepEqual(await allocated(), ['draft v2']);
  await done(page);
});

test('role-aware: a brand token sees only its own contracts and no staff pages', async () => {
  const me = await (await fetch(`${base}/api/v1/me`, { headers: { authorization: 'Bearer kh_demo_brand' } })).json();
  const page = await open('kh_demo_brand', DESKTOP, '/contracts');
  await waitLoaded(page);
  const nav = await page.locator('nav.nav').innerText();
  assert.doesNotMatch(nav, /插件|脚本|货盘分配/);
  const rows = page.locator('tr[data-contract]');
  assert.ok(await rows.count() > 0);
  const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.contract));
  for (const id of ids) {
    const c = await (await fetch(`${base}/api/v1/contracts/${id}`, { headers: { authorization: 'Bearer kh_demo_admin' } })).json();
    assert.equal(c.brand_id, me.brand_id);
  }
  assert.equal(await page.getByRole('button', { name: '新建合同' }).count(), 0, 'read only');
  await page.goto(`${base}/plugins`);
  await page.getByText('您的角色无权打开此页面').waitFor();
  await done(page, 'brand-contracts-desktop');
});

test('GMV: the charts change after fixture deliveries are posted', async (t) => {
  const probe = await fetch(`${base}/api/v1/gmv?by=day`, { headers: { authorization: 'Bearer kh_demo_admin' } });
  if (probe.status === 404) {
    // Orders and GMV are not on this server yet: the page says so instead of failing.
    const page = await open('kh_demo_admin', DESKTOP, '/gmv');
    await page.getByText('此服务器尚未提供 GMV 统计').waitFor();
    await done(page, 'gmv-unavailable-desktop');
    t.skip('GET /api/v1/gmv is not on this server yet');
    return;
  }
  const page = await open('kh_demo_admin', DESKTOP, '/gmv');
  await waitLoaded(page);
  await page.locator('[data-figure="gmv-total"]').waitFor();
  const before_ = await page.locator('[data-figure="gmv-total"]').innerText();
  const barsBefore = await page.locator('svg.chart.time rect.bar').evaluateAll((r) => r.map((x) => Number(x.dataset.value)));
  await ensureDouyin(base, PLUGIN);
  const posted = await postDouyinOrders(base);
  await page.getByRole('button', { name: '刷新' }).click();
  // The figures are redrawn after a loading state: wait for new ones, not for the old ones to go.
  await page.waitForFunction((b) => {
    const el = document.querySelector('[data-figure="gmv-total"]');
    return el !== null && el.textContent !== b;
  }, before_);
  const barsAfter = await page.locator('svg.chart.time rect.bar').evaluateAll((r) => r.map((x) => Number(x.dataset.value)));
  assert.ok(barsAfter.reduce((a, b) => a + b, 0) > barsBefore.reduce((a, b) => a + b, 0), 'the per-day chart grew');
  assert.ok(posted.total_fen > 0);
  assert.ok(await page.locator('[data-chart="kol"] svg').count() === 1, 'per-KOL chart drawn');
  await done(page, 'gmv-desktop');
});

test('GMV page: charts and orders drawn from the API shapes (stubbed), and redrawn when figures change', async () => {
  const page = await open('kh_demo_admin', DESKTOP);
  const kols = (await (await fetch(`${base}/api/v1/kols`, { headers: { authorization: 'Bearer kh_demo_admin' } })).json()).items;
  const brands = (await (await fetch(`${base}/api/v1/brands`, { headers: { authorization: 'Bearer kh_demo_admin' } })).json()).items;
  let extra = 0;
  const today = new Date();
  const key = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  const row = (k, gmv) => ({ key: k, orders: 3, units: 5, gmv_fen: gmv, refunded_fen: 1000, net_gmv_fen: gmv - 1000 });
  await page.route('**/api/v1/gmv?*', (route) => {
    const by = new URL(route.request().url()).searchParams.get('by');
    const items = {
      day: [0, 1, 2, 5].map((n) => { const d = new Date(today); d.setDate(d.getDate() - n); return row(key(d), 120_000 * (n + 1) + (n === 0 ? extra : 0)); }),
      kol: kols.slice(0, 4).map((k, i) => row(k.id, 300_000 - i * 50_000 + (i === 0 ? extra : 0))),
      brand: brands.map((b, i) => row(b.id, 200_000 + i * 10_000)),
      session: [row(null, 50_000)],
    }[by] || [];
    route.fulfill({ json: { items } });
  });
  await page.route('**/api/v1/orders?*', (route) => route.fulfill({ json: { next_cursor: null, items: [
    { id: 'o1', platform: 'douyin', platform_order_id: '6921000000000001', sub_order_id: '1', item_id: '3690000000000', account_id: 'dy_author_660033', room_id: 'r', units: 2, paid_fen: 19_800, refunded_fen: 0, net_fen: 19_800, status: 'paid', paid_at: new Date().toISOString(), settled_at: null, kol_id: kols[0].id, product_id: null, brand_id: brands[0].id, contract_id: null, session_id: null, attributed: true, unattributed_reason: null },
    { id: 'o2', platform: 'taobao', platform_order_id: '2200000000002', sub_order_id: '2', item_id: 'tb999', account_id: 'x', room_id: '', units: 1, paid_fen: 5_000, refunded_fen: 5_000, net_fen: 0, status: 'refunded', paid_at: new Date().toISOString(), settled_at: null, kol_id: null, product_id: null, brand_id: null, contract_id: null, session_id: null, attributed: false, unattributed_reason: 'no listing for item tb999' },
  ] } }));
  await page.goto(`${base}/gmv`);
  await page.locator('[data-figure="gmv-total"]').waitFor();
  assert.equal(await page.locator('[data-figure="gmv-total"]').innerText(), '¥14,400.00');
  assert.equal(await page.locator('svg.chart.time rect.bar[data-value="120000"]').count(), 1);
  assert.equal(await page.locator('[data-chart="kol"] .bar-row').count(), 4);
  assert.match(await page.locator('[data-chart="session"]').innerText(), /非直播场次/);
  assert.equal(await page.locator('.orders tbody tr').count(), 2);
  extra = 99_900;
  await page.getByRole('button', { name: '刷新' }).click();
  await page.locator('svg.chart.time rect.bar[data-value="219900"]').waitFor();
  assert.equal(await page.locator('[data-figure="gmv-total"]').innerText(), '¥15,399.00');
  await shot(page, 'gmv-stubbed-desktop');
  await page.setViewportSize(PHONE);
  await page.reload();
  await page.locator('svg.chart.time').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `GMV at phone width scrolls sideways by ${overflow}px`);
  await done(page, 'gmv-stubbed-phone');
});

test('settlements and compliance pages follow the API shapes (stubbed): lines, approval, findings', async () => {
  const contract = (await (await fetch(`${base}/api/v1/contracts?status=active&limit=1`, { headers: { authorization: 'Bearer kh_demo_admin' } })).json()).items[0];
  const totals = {
    order_count: 12, gmv_fen: 1_234_567, refunds_fen: 34_567, adjustments_fen: 0, net_gmv_fen: 1_200_000, commission_fen: 240_000,
    slot_fees_fen: 5_000_000, guarantee_shortfall_fen: null, guarantee_refund_fen: 0, platform_fees_fen: 12_000, kol_share_fen: 120_000,
    tax_withheld_fen: 19_200, brand_payable_fen: 5_240_000, kol_payable_fen: 100_800, tax_payable_fen: 19_200,
  };
  let settlement = {
    id: '01900000-0000-7000-8000-000000000001', contract_id: contract.id, brand_id: contract.brand_id, kol_id: contract.kol_id, contract_version: 1,
    period_start: '2026-09-30T16:00:00Z', period_end: '2026-10-31T16:00:00Z', status: 'draft', guarantee_assessed: false,
    commission_bp: 2000, revenue_share_bp: 5000, tax_status: 'individual', totals,
    lines: [
      { kind: 'commission', label: '佣金 Commission', amount_fen: 240_000, how: '20% × ¥12,000.00 net GMV' },
      { kind: 'tax', label: '代扣个税 Tax withheld', amount_fen: 19_200, how: '(¥1,200.00 − ¥800) × 20%... rounded once' },
    ],
    created_by: 'demo manager', created_at: '2026-11-02T03:00:00Z', approved_by: null, approved_at: null,
  };
  const page = await open('kh_demo_manager', DESKTOP);
  await page.route('**/api/v1/settlements?*', (r) => r.fulfill({ json: { items: [settlement], next_cursor: null } }));
  await page.route(`**/api/v1/settlements/${settlement.id}`, (r) => r.fulfill({ json: settlement }));
  await page.route(`**/api/v1/settlements/${settlement.id}/approve`, (r) => {
    settlement = { ...settlement, status: 'approved', approved_by: 'demo manager', approved_at: new Date().toISOString() };
    r.fulfill({ json: settlement });
  });
  await page.goto(`${base}/settlements`);
  await page.locator(`a[href="/settlements/${settlement.id}"]`).click();
  await page.getByText('20% × ¥12,000.00 net GMV').waitFor();
  assert.match(await page.locator('.settle-figures').innerText(), /¥1,008\.00/);
  // The half-open period [10-01, 11-01) reads as its last included day.
  const header = await page.locator('main').innerText();
  assert.match(header, /2026年10月31日/);
  assert.doesNotMatch(header, /11月1日/);
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await page.getByRole('button', { name: '审批' }).click();
  await page.locator('.page-header .badge', { hasText: '已审批' }).waitFor();
  assert.equal(await page.getByRole('button', { name: '审批' }).count(), 0, 'an approved settlement is final');
  assert.match(asked, /不可修改/, 'approval asks for confirmation first');
  await shot(page, 'settlement-desktop');
  await page.route('**/api/v1/compliance/findings?*', (r) => r.fulfill({ json: { next_cursor: null, items: [
    { id: 'f1', entity_type: 'product', entity_id: contract.id, rule: 'banned_term', mode: 'block', field: 'copy', term: '最', char_offset: 3, message: 'copy uses the absolute term 最', related_id: null, created_by: 'system', created_at: new Date().toISOString(), status: 'open' },
    { id: 'f2', entity_type: 'session', entity_id: contract.id, rule: 'floor_price', mode: 'warn', field: 'lineup[0].live_price_fen', term: null, char_offset: null, message: 'live price under the floor', related_id: null, created_by: 'system', created_at: new Date().toISOString(), status: 'resolved', resolved_by: 'demo manager', resolved_at: new Date().toISOString(), resolution_note: '已调价' },
  ] } }));
  await page.goto(`${base}/compliance`);
  await page.getByText('copy uses the absolute term 最').waitFor();
  assert.equal(await page.locator('tbody tr').count(), 2);
  await page.getByLabel('记录类型').selectOption('session');
  assert.equal(await page.locator('tbody tr').count(), 1);
  await done(page, 'compliance-desktop');
});

test('compliance: a manager acknowledges a finding, then resolves it with a note', async () => {
  const admin = { authorization: 'Bearer kh_demo_admin', 'content-type': 'application/json' };
  const rules = await (await fetch(`${base}/api/v1/compliance/rules`, { headers: admin })).json();
  await fetch(`${base}/api/v1/compliance/rules`, { method: 'PUT', headers: admin, body: JSON.stringify({ rules: [{ rule: 'banned_term', mode: 'warn' }] }) });
  const brands = await (await fetch(`${base}/api/v1/brands?limit=1`, { headers: admin })).json();
  const product = await (await fetch(`${base}/api/v1/products`, { method: 'POST', headers: admin, body: JSON.stringify({
    brand_id: brands.items[0].id, sku: 'WEB-FINDING', name: '网页测试商品', category: 'food', role: 'profit',
    list_price_fen: 9900, floor_price_fen: 5900, stock_units: 10, copy: '全网第一的坚果' }) })).json();
  const page = await open('kh_demo_manager', DESKTOP, `/compliance?entity_id=${product.id}`);
  await waitLoaded(page);
  const row = page.locator('tbody tr').first();
  assert.match(await row.innerText(), /待处理/);
  await row.getByRole('button', { name: '认领' }).click();
  await row.locator('.review[data-status="acknowledged"]').waitFor();
  assert.match(await row.innerText(), /demo manager 于 .* 认领/);
  page.once('dialog', (d) => d.accept('文案已改为「好吃的坚果」'));
  await row.getByRole('button', { name: '解决' }).click();
  await row.locator('.review[data-status="resolved"]').waitFor();
  assert.match(await row.innerText(), /文案已改为「好吃的坚果」/);
  const stored = await (await fetch(`${base}/api/v1/compliance/findings?entity_id=${product.id}`, { headers: admin })).json();
  assert.equal(stored.items[0].status, 'resolved');
  assert.equal(stored.items[0].resolved_by, 'demo manager');
  await done(page, 'compliance-review-desktop');
  // The demo's rules as they were.
  await fetch(`${base}/api/v1/compliance/rules`, { method: 'PUT', headers: admin, body: JSON.stringify({ rules: rules.rules }) });
});

test('operations: the audit trail shows who published which script version; deliveries list their status', async () => {
  const page = await open('kh_demo_admin', DESKTOP, '/operations');
  await waitLoaded(page);
  await page.getByRole('combobox', { name: '操作' }).selectOption('script.publish');
  const row = page.locator('tbody tr[data-action="script.publish"]').first();
  await row.waitFor();
  assert.match(await row.innerText(), /published_version: 1 → 2/);
  assert.match(await row.innerText(), /demo scripter/);
  await page.getByRole('link', { name: '推送记录' }).click();
  await page.getByRole('combobox', { name: '状态' }).waitFor();
  await done(page, 'operations-desktop');
});

const ADMIN = { authorization: 'Bearer kh_demo_admin', 'content-type': 'application/json' };

async function apiGet(path) {
  const res = await fetch(`${base}/api/v1${path}`, { headers: ADMIN });
  assert.ok(res.ok, `GET ${path}: ${res.status}`);
  return res.json();
}

async function apiSend(method, path, body) {
  const res = await fetch(`${base}/api/v1${path}`, { method, headers: ADMIN, body: JSON.stringify(body) });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A new session, empty, of a KOL under an active contract whose brand has products, starting tomorrow. */
async function emptySession(title) {
  const contracts = (await apiGet('/contracts?limit=500')).items.filter((c) => ['signed', 'active'].includes(c.status));
  const products = (await apiGet('/products?limit=500')).items;
  const starts = new Date(Date.now() + 26 * 3_600_000);
  starts.setUTCMinutes(0, 0, 0);
  const c = contracts.find((x) => Date.parse(x.ends_at) > starts.getTime() + 86_400_000 && products.some((p) => p.brand_id === x.brand_id));
  assert.ok(c, 'the demo has a contract in force with products');
  const session = await apiSend('POST', '/sessions', {
    kol_id: c.kol_id, platform: c.platform, title, room_id: 'room-web',
    starts_at: starts.toISOString(), ends_at: new Date(starts.getTime() + 3 * 3_600_000).toISOString(), slot_capacity: 5,
  });
  return { session, contract: c, product: products.find((p) => p.brand_id === c.brand_id) };
}

test('session: the lineup editor warns under the floor price before saving, then saves the slot; the run-of-show is kept by sections', async () => {
  const { session, product } = await emptySession('网页排品测试');
  const page = await open('kh_demo_manager', DESKTOP, `/sessions/${session.id}`);
  await waitLoaded(page);
  await page.getByRole('button', { name: '编辑排品' }).click();
  const editor = page.locator('form.lineup-editor');
  await editor.getByRole('combobox', { name: '添加商品' }).selectOption(product.id);
  await editor.getByRole('button', { name: '加入排品' }).click();
  const row = editor.locator(`tr[data-product="${product.id}"]`);
  await row.waitFor();
  // One yuan under the floor price: flagged at once, before anything is sent.
  const under = ((product.floor_price_fen - 100) / 100).toFixed(2);
  await row.getByRole('textbox', { name: '直播价' }).fill(under);
  await row.getByRole('textbox', { name: '直播价' }).press('Tab');
  await editor.locator(`tr[data-product="${product.id}"] .checks .bad`).first().waitFor();
  assert.match(await editor.locator(`tr[data-product="${product.id}"]`).innerText(), /低于控价/);
  // The server refuses it too, in Chinese, at the field.
  await editor.getByRole('button', { name: '保存' }).click();
  await editor.locator('[data-error-for="lineup[0].live_price_fen"]').filter({ hasText: '低于商品控价' }).waitFor();
  assert.equal((await apiGet(`/sessions/${session.id}`)).lineup.length, 0, 'nothing was written');
  // At the floor price it saves.
  const fixed = editor.locator(`tr[data-product="${product.id}"]`);
  await fixed.getByRole('textbox', { name: '直播价' }).fill((product.floor_price_fen / 100).toFixed(2));
  await fixed.getByRole('textbox', { name: '直播价' }).press('Tab');
  await fixed.getByRole('spinbutton', { name: '件数' }).fill('3');
  await fixed.getByRole('spinbutton', { name: '件数' }).press('Tab');
  await editor.getByRole('button', { name: '保存' }).click();
  await page.locator('form.lineup-editor').waitFor({ state: 'detached' });
  const saved = await apiGet(`/sessions/${session.id}`);
  assert.deepEqual(saved.lineup.map((l) => [l.product_id, l.position, l.live_price_fen, l.units]), [[product.id, 1, product.floor_price_fen, 3]]);
  // The run-of-show: equipment and a timed item, stored under the checklist's headings.
  await page.getByRole('button', { name: '编辑', exact: true }).click();
  await page.getByLabel('设备').fill('两台机位，环形补光灯');
  await page.getByRole('button', { name: '添加环节' }).click();
  await page.getByLabel('时间', { exact: true }).last().fill('20:00');
  await page.getByLabel('环节', { exact: true }).last().fill('开场福利');
  await page.getByRole('button', { name: '保存' }).click();
  await page.locator('.ros-section[data-section="timeline"]').waitFor();
  const outline = (await apiGet(`/sessions/${session.id}`)).outline;
  assert.match(outline, /## 设备\n两台机位，环形补光灯/);
  assert.match(outline, /## 时间流程\n- 20:00 开场福利/);
  await done(page, 'session-lineup-editor-desktop');
});

test('sessions: the week and month calendars place each session on its day; the platform filter narrows them', async () => {
  const { session, contract } = await emptySession('日历测试场');
  const day = new Date(Date.parse(session.starts_at) + 8 * 3_600_000).toISOString().slice(0, 10);
  const page = await open('kh_demo_manager', DESKTOP, `/sessions?view=week&date=${day}`);
  await waitLoaded(page);
  const chip = page.locator(`.cal-day[data-day="${day}"] .cal-chip[data-session="${session.id}"]`);
  await chip.waitFor();
  assert.match(await chip.innerText(), /日历测试场/);
  await page.getByRole('combobox', { name: '视图' }).selectOption('month');
  await page.locator(`.cal-month .cal-day[data-day="${day}"]`).waitFor();
  const other = ['taobao', 'douyin', 'kuaishou'].find((p) => p !== contract.platform);
  await page.getByRole('combobox', { name: '平台' }).selectOption(other);
  assert.equal(await page.locator(`.cal-chip[data-session="${session.id}"]`).count(), 0);
  await page.getByRole('combobox', { name: '平台' }).selectOption(contract.platform);
  const inMonth = page.locator(`.cal-day[data-day="${day}"] .cal-chip[data-session="${session.id}"], .cal-day[data-day="${day}"] .cal-more`);
  assert.ok(await inMonth.count() >= 1, 'the session or a "more" link is on its day');
  await done(page, 'sessions-month-desktop');
});

test('KOL page: a manager edits tier and tax identity; the ID number comes back only masked', async () => {
  const kols = (await apiGet('/kols?limit=500')).items;
  const kol = kols.find((k) => k.tax_status === 'individual') || kols[0];
  const page = await open('kh_demo_manager', DESKTOP, `/kols/${kol.id}`);
  await waitLoaded(page);
  await page.getByRole('button', { name: '编辑' }).click();
  await page.getByLabel('层级').selectOption('waist');
  await page.getByLabel('姓名（与证件一致）').fill('王小明');
  await page.getByLabel('证件号码').fill('11010519491231002X');
  await page.getByRole('button', { name: '保存' }).click();
  await page.locator('[data-identity]').filter({ hasText: '王小明' }).waitFor();
  const text = await page.locator('[data-identity]').innerText();
  assert.ok(!text.includes('11010519491231002X'), 'the full number is never shown');
  assert.match(text, /002X/);
  const stored = await apiGet(`/kols/${kol.id}`);
  assert.equal(stored.tier, 'waist');
  assert.equal(stored.legal_name, '王小明');
  assert.equal(stored.id_number, undefined);
  // A wrong check digit is refused in Chinese at the field.
  await page.getByRole('button', { name: '编辑' }).click();
  await page.getByLabel('证件号码').fill('110105194912310021');
  await page.getByRole('button', { name: '保存' }).click();
  await page.locator('[data-error-for="id_number"]').filter({ hasText: '校验位' }).waitFor();
  await done(page, 'kol-edit-desktop');
});

test('brands: create one, find it by search, rename it', async () => {
  const page = await open('kh_demo_manager', DESKTOP, '/brands');
  await waitLoaded(page);
  await page.getByRole('button', { name: '新建品牌' }).click();
  const form = page.locator('form.form-grid');
  await form.getByLabel('品牌名称').fill('网页测试品牌');
  await form.getByLabel('类目').fill('food, beauty');
  await form.getByRole('button', { name: '创建' }).click();
  await page.getByRole('searchbox', { name: '按名称搜索' }).fill('网页测试');
  const row = page.locator('tbody tr', { hasText: '网页测试品牌' });
  await row.waitFor();
  assert.equal(await page.locator('tbody tr').count(), 1);
  assert.match(await row.innerText(), /食品、美妆/);
  await row.getByRole('button', { name: '编辑' }).click();
  await page.getByLabel('品牌名称').fill('网页测试品牌（改名）');
  await page.getByRole('button', { name: '保存' }).click();
  await page.locator('tbody tr', { hasText: '网页测试品牌（改名）' }).waitFor();
  const brands = (await apiGet('/brands?limit=500')).items;
  assert.ok(brands.some((b) => b.name === '网页测试品牌（改名）'));
  await done(page, 'brands-desktop');
});

test('settlements: the month-end batch drafts a settlement per contract with activity, or says why it skipped each', async () => {
  const before = (await apiGet('/settlements?limit=500')).items.length;
  const page = await open('kh_demo_manager', DESKTOP, '/settlements');
  await waitLoaded(page);
  await page.getByRole('button', { name: '月结批量生成' }).click();
  await page.getByRole('button', { name: '生成草稿' }).click();
  await page.locator('.batch-result h3, .batch-result p, .batch-result details').first().waitFor();
  const after = (await apiGet('/settlements?limit=500')).items.length;
  const created = await page.locator('.batch-created li').count();
  assert.equal(after - before, created, 'the page lists exactly the drafts the server created');
  const skipped = page.locator('.batch-result details li');
  for (let i = 0; i < await skipped.count(); i += 1) {
    assert.doesNotMatch(await skipped.nth(i).innerText(), /[a-z]+_[a-z]+/, 'skip reasons read in Chinese');
  }
  await done(page, 'settlements-batch-desktop');
});

test('tables sort by any column header; an admin sets compliance rules and terms, other staff read them', async () => {
  const original = await apiGet('/compliance/rules');
  const page = await open('kh_demo_admin', DESKTOP, '/brands');
  await waitLoaded(page);
  const names = async () => page.locator('tbody tr td:first-child').allInnerTexts();
  await page.getByRole('button', { name: '品牌名称' }).click();
  const up = await names();
  assert.deepEqual(up, [...up].sort((a, b) => a.localeCompare(b, 'zh-CN', { numeric: true })));
  assert.equal(await page.getByRole('columnheader', { name: '品牌名称' }).getAttribute('aria-sort'), 'ascending');
  await page.getByRole('button', { name: '品牌名称' }).click();
  assert.deepEqual(await names(), [...up].reverse());
  await page.goto(`${base}/compliance`);
  await waitLoaded(page);
  await page.getByText('规则与违禁词').click();
  await page.getByRole('combobox', { name: '违禁词' }).selectOption('warn');
  const terms = page.getByLabel(/违禁词（/);
  await terms.fill(`${await terms.inputValue()}\n网页测试词`);
  await page.getByRole('button', { name: '保存' }).click();
  await page.getByText('合规规则已保存。').waitFor();
  const saved = await apiGet('/compliance/rules');
  assert.ok(saved.banned_terms.includes('网页测试词'));
  assert.equal(saved.rules.find((r) => r.rule === 'banned_term').mode, 'warn');
  await done(page, 'compliance-rules-desktop');
  const manager = await open('kh_demo_manager', DESKTOP, '/compliance');
  await waitLoaded(manager);
  await manager.getByText('规则与违禁词').click();
  assert.equal(await manager.getByRole('button', { name: '保存' }).count(), 0, 'a manager reads the rules only');
  await done(manager);
  await apiSend('PUT', '/compliance/rules', { rules: original.rules.map((r) => ({ rule: r.rule, mode: r.mode })), banned_terms: original.banned_terms });
});

test('every page at desktop and phone widths (screenshots to look at)', async () => {
  const kols = await (await fetch(`${base}/api/v1/contracts?limit=1`, { headers: { authorization: 'Bearer kh_demo_admin' } })).json();
  const sessions = await (await fetch(`${base}/api/v1/sessions?limit=1`, { headers: { authorization: 'Bearer kh_demo_admin' } })).json();
  const pages = [
    ['kols', '/kols'], ['products', '/products'], ['contracts', '/contracts'], ['contract', `/contracts/${kols.items[0].id}`],
    ['sessions', '/sessions'], ['session', `/sessions/${sessions.items[0].id}`], ['allocation', '/allocation'],
    ['gmv', '/gmv'], ['plugins', '/plugins'], ['operations', '/operations'], ['deliveries', '/operations?tab=deliveries'], ['scripts', '/scripts/pyramid'], ['settlements', '/settlements'], ['compliance', '/compliance'],
    ['brands', '/brands'], ['kol', `/kols/${kols.items[0].kol_id}`], ['sessions-week', '/sessions?view=week'], ['sessions-month', '/sessions?view=month'],
  ];
  for (const [size, viewport, lang] of [['desktop', DESKTOP, 'zh-CN'], ['phone', PHONE, 'zh-CN'], ['desktop-en', DESKTOP, 'en'], ['phone-en', PHONE, 'en']]) {
    for (const [name, path] of pages) {
      const page = await open('kh_demo_admin', viewport, path, lang);
      await waitLoaded(page);
      if (name === 'allocation') {
        await page.getByRole('button', { name: lang === 'en' ? 'Preview' : '预览' }).click();
        await page.locator('.alloc-result .summary, .alloc-result .empty').first().waitFor();
      }
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 1, `${name} at ${size} scrolls sideways by ${overflow}px`);
      // The Chinese UI shows no English server text (messages, findings, settlement lines); the
      // operations pages show stored records (audit before/after, delivery bodies) as they are.
      const english = lang === 'en' || ['operations', 'deliveries'].includes(name) ? null : (await page.locator('main').innerText()).match(/\b(must be|no such|is not|is above|is under|uses the banned|paid_fen|rounded half|the KOL|the contract)\b/i);
      assert.equal(english, null, `${name} at ${size} shows English: ${english?.[0]}`);
      await done(page, `page-${name}-${size}`);
    }
  }
  const signin = await open(null, PHONE);
  await signin.getByLabel('API 令牌').waitFor();
  await done(signin, 'page-signin-phone');
});
