// Scripts: the Lua strategies, an editor with line numbers, save (a draft), dry run with errors at
// their line, the draft's difference from the published version, and publishing: allocations run
// the published version, so editing a draft never changes them.
import { api } from '../lib/api.js';
import { h, replace, pageHeader, field, formError, showErrors, busy, toast, badge, empty, clearErrors, table } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { int, dateTime, yuan } from '../lib/format.js';

const TEMPLATE = `-- ctx.products, ctx.kols, ctx.contracts, ctx.sessions, ctx.params
function allocate(ctx)
  local assignments = {}
  return { assignments = assignments, notes = { "nothing yet" } }
end
`;

export default async function render(main, { params }) {
  const scripts = (await api('/scripts')).items;
  const current = params.name ? await api(`/scripts/${encodeURIComponent(params.name)}`) : null;
  let saved = current ? current.source : null;
  // What the publication bar shows: the newest version saved and the one allocations run.
  let latest = current ? current.version : null;
  let published = current ? current.published_version : null;
  let versions = current ? (await api(`/scripts/${encodeURIComponent(current.name)}/versions`)).items : [];

  const nav = h('nav', { class: 'script-list card', 'aria-label': t('scripts.list') },
    h('a', { href: '/scripts', class: !current ? 'active' : '', 'aria-current': !current ? 'page' : null }, `＋ ${t('scripts.new')}`),
    scripts.length ? scripts.map((s) => h('a', { href: `/scripts/${encodeURIComponent(s.name)}`, class: s.name === current?.name ? 'active' : '', 'aria-current': s.name === current?.name ? 'page' : null },
      h('span', null, s.name), h('small', { class: 'muted' }, ` v${s.published_version ?? '—'}${s.published_version !== s.version ? ` · ${t('scripts.draftShort', { v: s.version })}` : ''}`),
      s.bundled ? badge(t('scripts.bundled'), 'info') : null)) : empty(t('scripts.none')));

  const name = h('input', { type: 'text', value: current?.name || '', readonly: !!current, spellcheck: 'false', placeholder: 'my_strategy', pattern: '[a-z0-9_]{1,40}' });
  const source = h('textarea', { class: 'code editor-text', spellcheck: 'false', wrap: 'off', rows: 22, value: current ? current.source : TEMPLATE, 'aria-label': t('scripts.source') });
  const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true' });
  const lineError = h('div', { class: 'line-error', role: 'alert', hidden: true });
  let errorLine = null;
  const drawGutter = () => {
    const n = source.value.split('\n').length;
    replace(gutter, Array.from({ length: n }, (_, i) => h('span', { class: i + 1 === errorLine ? 'err' : '' }, `${i + 1}\n`)));
    gutter.scrollTop = source.scrollTop;
  };
  source.addEventListener('scroll', () => { gutter.scrollTop = source.scrollTop; });
  source.addEventListener('input', () => { drawGutter(); updateButtons(); });
  source.addEventListener('keydown', (ev) => {
    if (ev.key === 'Tab' && !ev.shiftKey && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      const { selectionStart: a, selectionEnd: b } = source;
      source.setRangeText('  ', a, b, 'end');
      drawGutter();
    }
  });

  const saveBtn = h('button', { type: 'button' }, t('common.save'));
  const runBtn = h('button', { type: 'submit', class: 'primary' }, t('scripts.dryRun'));
  const paramsBox = h('input', { type: 'text', class: 'code', value: '{}', spellcheck: 'false' });
  const meta = h('p', { class: 'muted' }, current ? t('scripts.meta', { v: current.version, by: current.created_by, at: dateTime(current.created_at) }) : t('scripts.newHint'));
  const result = h('div', { class: 'dry-run-result', 'aria-live': 'polite' });
  const publishBtn = h('button', { type: 'button', class: 'secondary', 'data-action': 'publish' });
  const pubState = h('p', { class: 'pub-state', role: 'status' });
  const diffBox = h('div', { class: 'script-diff' });
  const drawPublication = () => {
    if (latest === null) { replace(pubState); publishBtn.hidden = true; replace(diffBox); return; }
    replace(pubState,
      badge(published === null ? t('scripts.unpublished') : t('scripts.published', { v: published }), published === latest ? 'good' : 'info'),
      published !== latest ? [' ', badge(t('scripts.draft', { v: latest }), 'warn'), ' ', h('span', { class: 'muted' }, t('scripts.draftNote'))] : null);
    publishBtn.hidden = published === latest;
    publishBtn.disabled = dirty();
    publishBtn.textContent = t('scripts.publish', { v: latest });
    const live = versions.find((v) => v.version === published);
    const draft = versions.find((v) => v.version === latest);
    replace(diffBox, live && draft && published !== latest
      ? h('details', null, h('summary', null, t('scripts.diff', { from: published, to: latest })), diffView(live.source, draft.source))
      : null);
  };
  publishBtn.addEventListener('click', () => busy(publishBtn, async () => {
    if (!window.confirm(t('scripts.confirmPublish', { name: current?.name || name.value.trim(), v: latest }))) return;
    try {
      const res = await api(`/scripts/${encodeURIComponent(name.value.trim())}/publish`, { method: 'POST', body: { version: latest } });
      published = res.published_version;
      toast(t('scripts.publishedToast', { name: res.name, v: res.published_version }));
      drawPublication();
    } catch (e) { showErrors(form, e); }
  }));
  const form = h('form', { class: 'card editor-card', novalidate: true },
    h('div', { class: 'form-grid' },
      field(t('scripts.name'), name, { name: 'name', hint: t('scripts.nameHint') }),
      field(t('scripts.params'), paramsBox, { name: 'params', hint: t('alloc.paramsHint') })),
    meta,
    h('div', { class: 'pub-bar' }, pubState, publishBtn),
    diffBox,
    h('div', { class: 'field wide', 'data-field': 'source' },
      h('div', { class: 'editor' }, gutter, source),
      lineError,
      h('p', { class: 'field-error', 'data-error-for': 'source' })),
    formError(),
    h('div', { class: 'form-actions' }, runBtn, saveBtn));

  const dirty = () => saved === null || source.value !== saved;
  const updateButtons = () => {
    runBtn.textContent = dirty() ? t('scripts.saveAndRun') : t('scripts.dryRun');
    saveBtn.disabled = !dirty();
    publishBtn.disabled = dirty();
  };

  const showLineError = (e) => {
    const line = Number.isInteger(e.problem?.line) ? e.problem.line : null;
    errorLine = line;
    drawGutter();
    if (line) {
      replace(lineError, h('strong', null, t('scripts.errorAt', { line })), ' ', e.errors?.[0]?.message || e.detail,
        ' ', h('button', { type: 'button', class: 'link', onclick: () => selectLine(line) }, t('scripts.goToLine')));
      lineError.hidden = false;
      lineError.dataset.line = String(line);
      selectLine(line);
      return true;
    }
    return false;
  };

  const selectLine = (line) => {
    const lines = source.value.split('\n');
    const start = lines.slice(0, line - 1).reduce((s, l) => s + l.length + 1, 0);
    source.focus();
    source.setSelectionRange(start, start + (lines[line - 1] || '').length);
    const lh = parseFloat(getComputedStyle(source).lineHeight) || 20;
    source.scrollTop = Math.max(0, (line - 4) * lh);
  };

  const resetErrors = () => {
    clearErrors(form);
    errorLine = null;
    lineError.hidden = true;
    delete lineError.dataset.line;
    drawGutter();
  };

  const save = async () => {
    const n = name.value.trim();
    if (!/^[a-z0-9_]{1,40}$/.test(n)) {
      showErrors(form, { errors: [{ field: 'name', message: t('scripts.nameHint') }] });
      return null;
    }
    const res = await api('/scripts', { method: 'POST', body: { name: n, source: source.value } });
    saved = source.value;
    latest = res.version;
    published = res.published_version;
    versions = [...versions, { ...res, source: source.value }];
    drawPublication();
    toast(t('scripts.saved', { name: res.name, v: res.version }));
    meta.textContent = t('scripts.meta', { v: res.version, by: res.created_by, at: dateTime(res.created_at) });
    updateButtons();
    if (!name.readOnly) {
      // A new script: keep the page (and what the dry run is about to show); just name it.
      name.readOnly = true;
      history.replaceState(null, '', `/scripts/${encodeURIComponent(res.name)}`);
      nav.querySelector('a.active')?.classList.remove('active');
      nav.querySelector('a[aria-current]')?.removeAttribute('aria-current');
      nav.querySelector('.empty')?.remove();
      nav.append(h('a', { href: `/scripts/${encodeURIComponent(res.name)}`, class: 'active', 'aria-current': 'page' },
        h('span', null, res.name), h('small', { class: 'muted' }, ` v${res.version}`)));
    }
    return res;
  };

  saveBtn.addEventListener('click', () => busy(saveBtn, async () => {
    resetErrors();
    try { await save(); } catch (e) { if (!showLineError(e)) showErrors(form, e); }
  }));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    resetErrors();
    let p;
    try { p = JSON.parse(paramsBox.value.trim() || '{}'); } catch (e) {
      return showErrors(form, { errors: [{ field: 'params', message: e.message }] });
    }
    await busy(runBtn, async () => {
      replace(result);
      try {
        if (dirty() && !(await save())) return;
        const out = await api(`/scripts/${encodeURIComponent(name.value.trim())}/dry-run`, { method: 'POST', body: { params: p } });
        replace(result, outcome(out));
      } catch (e) {
        // An error with a line is shown at that line; any other next to its field or the form.
        if (!showLineError(e)) showErrors(form, e);
      }
    });
  });

  replace(main, pageHeader(t('scripts.title')), h('div', { class: 'scripts-layout' }, nav, h('div', null, form, result)));
  drawGutter();
  updateButtons();
  drawPublication();
}

/** The lines of `to` against `from` (a longest-common-subsequence diff): kept, removed, added. */
function diffView(from, to) {
  const a = from.split('\n');
  const b = to.split('\n');
  if (a.length * b.length > 4_000_000) return h('p', { class: 'muted' }, t('scripts.diffTooLarge'));
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) {
    lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out.push([' ', a[i]]); i++; j++; }
    else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) { out.push(['-', a[i]]); i++; }
    else { out.push(['+', b[j]]); j++; }
  }
  return h('pre', { class: 'code diff' }, out.map(([k, line]) =>
    h('span', { class: k === '+' ? 'add' : k === '-' ? 'del' : 'same' }, `${k === ' ' ? ' ' : k === '+' ? '+' : '−'} ${line}\n`)));
}

function outcome(o) {
  return h('section', { class: `card dry-run ${o.violations.length ? 'bad' : 'good'}`, 'aria-labelledby': 'dry-h' },
    h('h2', { id: 'dry-h' }, t('scripts.result')),
    h('dl', { class: 'figures wide' },
      h('div', null, h('dt', null, t('alloc.assignments')), h('dd', { class: 'num', 'data-figure': 'assignments' }, int(o.assignments.length))),
      h('div', { class: o.violations.length ? 'bad' : 'good' }, h('dt', null, t('alloc.violations')), h('dd', { class: 'num', 'data-figure': 'violations' }, int(o.violations.length))),
      o.stats?.instructions != null ? h('div', null, h('dt', null, t('scripts.instructions')), h('dd', { class: 'num' }, int(o.stats.instructions))) : null,
      o.stats?.elapsed_ms !== undefined ? h('div', null, h('dt', null, t('scripts.elapsed')), h('dd', { class: 'num' }, `${o.stats.elapsed_ms} ms`)) : null),
    o.notes?.length ? h('ul', { class: 'notes' }, o.notes.map((n) => h('li', null, n))) : null,
    o.violations.length ? table([
      { label: t('alloc.rule'), cell: (v) => badge(tt('violation', v.code), 'bad') },
      { label: t('alloc.field'), cell: (v) => h('code', null, v.field) },
      { label: t('alloc.message'), cell: (v) => v.message },
    ], o.violations.slice(0, 50)) : null,
    o.assignments.length ? h('details', null, h('summary', null, t('scripts.assignmentsList', { n: o.assignments.length })),
      table([
        { label: t('lineup.product'), cell: (a) => h('code', null, a.product_id.slice(-8)) },
        { label: t('session.kol'), cell: (a) => h('code', null, a.kol_id.slice(-8)) },
        { label: t('lineup.units'), class: 'num', cell: (a) => int(a.units) },
        { label: t('lineup.livePrice'), class: 'num', cell: (a) => yuan(a.live_price_fen) },
        { label: t('scripts.reason'), cell: (a) => a.reason || '' },
      ], o.assignments.slice(0, 200))) : null,
    o.logs?.length ? h('details', null, h('summary', null, t('alloc.logs', { n: o.logs.length })), h('pre', null, o.logs.join('\n'))) : null);
}
