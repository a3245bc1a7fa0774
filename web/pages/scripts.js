// Scripts: the Lua strategies, an editor with line numbers, save, and dry run with errors at their line.
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

  const nav = h('nav', { class: 'script-list card', 'aria-label': t('scripts.list') },
    h('a', { href: '/scripts', class: !current ? 'active' : '', 'aria-current': !current ? 'page' : null }, `＋ ${t('scripts.new')}`),
    scripts.length ? scripts.map((s) => h('a', { href: `/scripts/${encodeURIComponent(s.name)}`, class: s.name === current?.name ? 'active' : '', 'aria-current': s.name === current?.name ? 'page' : null },
      h('span', null, s.name), h('small', { class: 'muted' }, ` v${s.version}`), s.bundled ? badge(t('scripts.bundled'), 'info') : null)) : empty(t('scripts.none')));

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
  const form = h('form', { class: 'card editor-card', novalidate: true },
    h('div', { class: 'form-grid' },
      field(t('scripts.name'), name, { name: 'name', hint: t('scripts.nameHint') }),
      field(t('scripts.params'), paramsBox, { name: 'params', hint: t('alloc.paramsHint') })),
    meta,
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
