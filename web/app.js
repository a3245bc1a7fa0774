// The dashboard shell: sign-in, navigation by role, the router, the language switch.
import { api, token, ApiError } from './lib/api.js';
import { h, replace, loading, errorBox, field, formError, showErrors, busy, select } from './lib/dom.js';
import { t, lang, setLang, LANGS } from './lib/i18n.js';

const STAFF = ['admin', 'manager', 'integrator', 'scripter'];
const EVERYONE = [...STAFF, 'brand', 'kol'];

/** Pages: path pattern, module, nav label, who sees it. */
const ROUTES = [
  { path: '/kols', module: './pages/kols.js', nav: 'nav.kols', roles: EVERYONE, icon: '▲' },
  { path: '/kols/:id', module: './pages/kol.js', roles: EVERYONE },
  { path: '/brands', module: './pages/brands.js', nav: 'nav.brands', roles: STAFF, icon: '◆' },
  { path: '/products', module: './pages/products.js', nav: 'nav.products', roles: EVERYONE, icon: '▤' },
  { path: '/contracts', module: './pages/contracts.js', nav: 'nav.contracts', roles: EVERYONE, icon: '✎' },
  { path: '/contracts/:id', module: './pages/contract.js', roles: EVERYONE },
  { path: '/sessions', module: './pages/sessions.js', nav: 'nav.sessions', roles: EVERYONE, icon: '●' },
  { path: '/sessions/:id', module: './pages/session.js', roles: EVERYONE },
  { path: '/allocation', module: './pages/allocation.js', nav: 'nav.allocation', roles: ['admin', 'manager', 'scripter'], icon: '▦' },
  { path: '/gmv', module: './pages/gmv.js', nav: 'nav.gmv', roles: EVERYONE, icon: '↗' },
  { path: '/settlements', module: './pages/settlements.js', nav: 'nav.settlements', roles: ['admin', 'manager', 'brand', 'kol'], icon: '¥' },
  { path: '/settlements/:id', module: './pages/settlement.js', roles: ['admin', 'manager', 'brand', 'kol'] },
  { path: '/compliance', module: './pages/compliance.js', nav: 'nav.compliance', roles: STAFF, icon: '!' },
  { path: '/operations', module: './pages/operations.js', nav: 'nav.operations', roles: ['admin', 'manager'], icon: '≡' },
  { path: '/plugins', module: './pages/plugins.js', nav: 'nav.plugins', roles: ['admin', 'integrator'], icon: '⧉' },
  { path: '/scripts', module: './pages/scripts.js', nav: 'nav.scripts', roles: ['admin', 'manager', 'scripter'], icon: '{}' },
  { path: '/scripts/:name', module: './pages/scripts.js', roles: ['admin', 'manager', 'scripter'] },
];

const root = document.getElementById('app');
let me = null;
let cleanup = null;
let renderSeq = 0;

function match(pathname) {
  const parts = pathname.replace(/\/+$/, '').split('/').filter(Boolean);
  for (const r of ROUTES) {
    const rp = r.path.split('/').filter(Boolean);
    if (rp.length !== parts.length) continue;
    const params = {};
    if (rp.every((seg, i) => (seg.startsWith(':') ? ((params[seg.slice(1)] = decodeURIComponent(parts[i])), true) : seg === parts[i]))) {
      return { route: r, params };
    }
  }
  return null;
}

export function navigate(path, { replace: rep = false } = {}) {
  if (rep) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

/** Whether the signed-in role may do a write kind: 'manage', 'plugins', 'scripts', 'apply'. */
export function can(kind) {
  const role = me?.role;
  return {
    manage: ['admin', 'manager'],
    apply: ['admin', 'manager'],
    preview: ['admin', 'manager', 'scripter'],
    plugins: ['admin', 'integrator'],
    scripts: ['admin', 'manager', 'scripter'],
    settle: ['admin', 'manager'],
  }[kind]?.includes(role) ?? false;
}

export function currentUser() {
  return me;
}

async function render() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch { /* a page's cleanup must not stop navigation */ } cleanup = null; }
  if (!token.get()) return renderSignIn();
  if (!me) {
    replace(root, loading());
    try {
      me = await api('/me');
    } catch (e) {
      if (e.status === 401) { token.clear(); return renderSignIn(); }
      return replace(root, h('main', { class: 'main' }, errorBox(e)));
    }
  }
  if (location.pathname === '/' || location.pathname === '/index.html') {
    history.replaceState(null, '', ROUTES.find((r) => r.nav && r.roles.includes(me.role))?.path || '/kols');
  }
  const m = match(location.pathname);
  const main = h('main', { class: 'main', id: 'main', tabindex: '-1' });
  replace(root, shell(m?.route), main);
  // On a phone the navigation scrolls sideways: keep the current page's link in view.
  root.querySelector('.nav [aria-current="page"]')?.scrollIntoView({ block: 'nearest', inline: 'center' });
  if (!m) return replace(main, h('div', { class: 'empty' }, h('h1', null, t('common.notFound')), h('a', { href: '/' }, t('common.home'))));
  if (!m.route.roles.includes(me.role)) {
    return replace(main, h('div', { class: 'error-box', role: 'alert' }, t('common.forbiddenPage'), ' ', h('a', { href: '/' }, t('common.home'))));
  }
  replace(main, loading());
  try {
    const mod = await import(m.route.module);
    if (seq !== renderSeq) return;
    const query = Object.fromEntries(new URLSearchParams(location.search));
    cleanup = (await mod.default(main, { me, params: m.params, query, navigate, can })) || null;
  } catch (e) {
    if (seq !== renderSeq) return;
    console.warn(e);
    replace(main, errorBox(e instanceof ApiError ? e : { message: String(e.message || e) }));
  }
}

function langSwitch() {
  const sel = select(LANGS, lang(), { 'aria-label': t('common.language'), class: 'lang' });
  sel.addEventListener('change', () => { setLang(sel.value); render(); });
  return sel;
}

function shell(active) {
  const navRoutes = ROUTES.filter((r) => r.nav && r.roles.includes(me.role));
  const activePath = active ? `/${active.path.split('/')[1]}` : '';
  const who = me.brand_id ? t('role.brand') : me.kol_id ? t('role.kol') : t(`role.${me.role}`);
  return h('header', { class: 'topbar' },
    h('a', { class: 'skip', href: '#main' }, t('common.skip')),
    h('a', { class: 'brand-mark', href: '/', 'aria-label': 'kolhost' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '▲'), 'kolhost'),
    h('nav', { class: 'nav', 'aria-label': t('nav.label') }, navRoutes.map((r) =>
      h('a', { href: r.path, 'aria-current': r.path === activePath ? 'page' : null }, t(r.nav)))),
    h('div', { class: 'who' },
      h('span', { class: 'role', title: me.name }, who),
      langSwitch(),
      h('button', { class: 'ghost', type: 'button', onclick: signOut }, t('auth.signOut'))));
}

function signOut() {
  token.clear();
  me = null;
  history.replaceState(null, '', '/');
  render();
}

function renderSignIn() {
  const input = h('input', { type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false', placeholder: 'kh_…' });
  const form = h('form', { class: 'card signin', novalidate: true },
    h('div', { class: 'signin-head' }, h('span', { class: 'logo big', 'aria-hidden': 'true' }, '▲'), h('h1', null, t('auth.title'))),
    h('p', { class: 'muted' }, t('auth.intro')),
    // Lets password managers file the token under this server.
    h('input', { type: 'text', name: 'username', autocomplete: 'username', value: 'kolhost', hidden: true, tabindex: '-1', 'aria-hidden': 'true' }),
    field(t('auth.token'), input, { name: 'token', hint: t('auth.tokenHint') }),
    formError(),
    h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit' }, t('auth.signIn')), langSwitch()));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    if (!value) return showErrors(form, new ApiError(400, { errors: [{ field: 'token', message: t('auth.tokenRequired') }] }));
    await busy(form.querySelector('button[type=submit]'), async () => {
      token.set(value);
      try {
        me = await api('/me');
        render();
      } catch (e) {
        token.clear();
        showErrors(form, e.status === 401 ? new ApiError(401, { errors: [{ field: 'token', message: t('auth.invalid') }] }) : e);
      }
    });
  });
  replace(root, h('main', { class: 'signin-page' }, form));
  input.focus();
}

// Same-origin links navigate inside the app.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest?.('a[href]');
  if (!a || a.target || a.hasAttribute('download') || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') || url.hash && url.pathname === location.pathname) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);
window.addEventListener('kolhost:unauthorized', () => { if (me) { me = null; token.clear(); render(); } });

render();
