// Plugins: state, figures, quarantine, upload, enable/disable/rollback and config.
import { api } from '../lib/api.js';
import { h, replace, pageHeader, field, formError, showErrors, busy, toast, badge, empty, clearErrors } from '../lib/dom.js';
import { t, tt } from '../lib/i18n.js';
import { int } from '../lib/format.js';

export default async function render(main) {
  let plugins = (await api('/plugins')).items;
  const list = h('div', { class: 'plugin-list' });
  const uploadSlot = h('div');

  const draw = () => replace(list, plugins.length
    ? plugins.sort((a, b) => a.name.localeCompare(b.name)).map(card)
    : empty(t('plugins.none')));

  const setPlugin = (p) => {
    plugins = plugins.filter((x) => x.name !== p.name).concat(p);
    draw();
  };

  function card(p) {
    const state = p.quarantined ? ['quarantined', 'bad'] : p.enabled ? ['enabled', 'good'] : ['disabled', 'muted'];
    const problem = formError();
    const actionForm = h('form', { class: 'inline-actions', novalidate: true });
    const act = (path, message) => async (ev) => {
      await busy(ev.currentTarget, async () => {
        try {
          setPlugin(await api(`/plugins/${encodeURIComponent(p.name)}/${path}`, { method: 'POST' }));
          toast(message);
        } catch (e) { showErrors(actionForm, e); }
      });
    };
    const activeIndex = p.versions.indexOf(p.version);
    const configSlot = h('div');
    replace(actionForm, h('div', { class: 'row' },
      p.enabled && !p.quarantined
        ? h('button', { type: 'button', onclick: act('disable', t('plugins.disabled', { name: p.name })) }, t('plugins.disable'))
        : h('button', { type: 'button', class: 'primary', onclick: act('enable', t('plugins.enabled', { name: p.name })) }, p.quarantined ? t('plugins.release') : t('plugins.enable')),
      h('button', { type: 'button', disabled: activeIndex <= 0, onclick: act('rollback', t('plugins.rolledBack', { name: p.name })) }, t('plugins.rollback')),
      h('button', { type: 'button', onclick: () => openConfig(p, configSlot) }, t('plugins.config'))), problem);
    const s = p.stats || {};
    return h('article', { class: `card plugin${p.quarantined ? ' quarantined' : ''}`, 'data-plugin': p.name },
      h('header', null,
        h('h2', null, p.name, ' ', h('small', { class: 'muted' }, p.version)),
        h('div', { class: 'row' }, badge(tt('world', p.world), 'info'), badge(t(`plugins.${state[0]}State`), state[1]))),
      p.quarantined ? h('p', { class: 'error-box' }, t('plugins.quarantineNote', { n: s.consecutive_failures ?? 0 })) : null,
      p.info?.description ? h('p', { class: 'muted' }, p.info.description) : null,
      h('dl', { class: 'figures' },
        figure(t('plugins.calls'), int(s.calls ?? 0)),
        figure(t('plugins.errors'), int(s.errors ?? 0)),
        figure(t('plugins.failures'), int(s.failures ?? 0)),
        figure('p50', us(s.p50_us)),
        figure('p99', us(s.p99_us))),
      h('dl', { class: 'terms compact' },
        h('div', null, h('dt', null, t('plugins.versions')), h('dd', null, p.versions.map((v) => h('span', { class: `chip${v === p.version ? ' active' : ''}` }, v)))),
        h('div', null, h('dt', null, t('plugins.grants')), h('dd', null, p.grants.length ? p.grants.map((g) => h('span', { class: 'chip' }, g)) : '—')),
        p.allowed_hosts?.length ? h('div', null, h('dt', null, t('plugins.hosts')), h('dd', null, p.allowed_hosts.join(', '))) : null,
        h('div', null, h('dt', null, t('plugins.configKeys')), h('dd', null,
          Object.keys(p.config || {}).map((k) => h('span', { class: 'chip' }, k)),
          (p.secret_names || []).map((k) => h('span', { class: 'chip secret', title: t('plugins.secretTitle') }, `${k} · ${t('plugins.secret')}`)),
          Object.keys(p.config || {}).length + (p.secret_names || []).length ? null : '—'))),
      actionForm, configSlot);
  }

  function openConfig(p, slot) {
    const rows = h('div', { class: 'kv-rows' });
    const addRow = (key = '', value = '', secret = false) => {
      const k = h('input', { type: 'text', value: key, 'aria-label': t('plugins.key'), spellcheck: 'false' });
      const v = h('input', { type: secret ? 'password' : 'text', value, 'aria-label': t('plugins.value'), placeholder: secret ? t('plugins.secretPlaceholder') : '', spellcheck: 'false' });
      const err = h('p', { class: 'field-error', 'data-error-for': key });
      k.addEventListener('input', () => { err.dataset.errorFor = k.value; });
      const row = h('div', { class: 'kv field', dataset: secret ? { secret: '1' } : {} }, k, v,
        h('button', { type: 'button', class: 'ghost', 'aria-label': t('plugins.removeKey'), onclick: () => row.remove() }, '×'), err);
      rows.append(row);
    };
    for (const [k, v] of Object.entries(p.config || {})) addRow(k, v);
    for (const k of p.secret_names || []) addRow(k, '', true);
    if (!rows.children.length) addRow();
    const form = h('form', { class: 'card config-form', novalidate: true },
      h('h3', null, t('plugins.configFor', { name: p.name })),
      h('p', { class: 'hint' }, t('plugins.configHint')),
      rows,
      h('button', { type: 'button', class: 'ghost', onclick: () => addRow() }, t('plugins.addKey')),
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('common.save')),
        h('button', { type: 'button', class: 'ghost', onclick: () => replace(slot) }, t('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      // Only changes are sent: a secret left empty keeps its stored value, a removed key is null.
      const body = {};
      const kept = new Set();
      for (const row of rows.querySelectorAll('.kv')) {
        const [k, v] = row.querySelectorAll('input');
        const key = k.value.trim();
        if (!key) continue;
        kept.add(key);
        if (row.dataset.secret && v.value === '') continue;
        body[key] = v.value;
      }
      for (const key of [...Object.keys(p.config || {}), ...(p.secret_names || [])]) if (!kept.has(key)) body[key] = null;
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          setPlugin(await api(`/plugins/${encodeURIComponent(p.name)}/config`, { method: 'PATCH', body }));
          toast(t('plugins.configured', { name: p.name }));
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(slot, form);
  }

  const openUpload = () => {
    const manifest = h('textarea', { rows: 6, class: 'code', spellcheck: 'false', placeholder: 'name = "my-plugin"\nversion = "0.1.0"\nworld = "platform"\ngrants = ["log", "config", "clock", "kv"]' });
    const manifestFile = h('input', { type: 'file', accept: '.toml,.json' });
    manifestFile.addEventListener('change', async () => { if (manifestFile.files[0]) manifest.value = await manifestFile.files[0].text(); });
    const component = h('input', { type: 'file', accept: '.wasm,application/wasm', required: true });
    const form = h('form', { class: 'form-grid card', novalidate: true },
      h('h2', { class: 'wide' }, t('plugins.upload')),
      field(t('plugins.manifest'), manifest, { name: 'manifest', hint: t('plugins.manifestHint'), wide: true }),
      field(t('plugins.manifestFile'), manifestFile, {}),
      field(t('plugins.component'), component, { name: 'component', hint: t('plugins.componentHint') }),
      formError(),
      h('div', { class: 'form-actions' }, h('button', { class: 'primary', type: 'submit' }, t('plugins.uploadButton')),
        h('button', { type: 'button', class: 'ghost', onclick: () => replace(uploadSlot) }, t('common.cancel'))));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const errors = [];
      if (!manifest.value.trim()) errors.push({ field: 'manifest', message: t('common.required') });
      if (!component.files[0]) errors.push({ field: 'component', message: t('common.required') });
      if (errors.length) return showErrors(form, { errors });
      const data = new FormData();
      data.append('manifest', manifest.value);
      data.append('component', component.files[0], component.files[0].name);
      await busy(form.querySelector('[type=submit]'), async () => {
        try {
          const p = await api('/plugins', { method: 'POST', form: data });
          toast(t('plugins.uploaded', { name: p.name, version: p.version }));
          replace(uploadSlot);
          setPlugin(p);
        } catch (e) { showErrors(form, e); }
      });
    });
    replace(uploadSlot, form);
    manifest.focus();
  };

  replace(main,
    pageHeader(t('plugins.title'), h('button', { class: 'primary', type: 'button', onclick: openUpload }, t('plugins.upload'))),
    uploadSlot, list);
  draw();
}

const figure = (label, value) => h('div', null, h('dt', null, label), h('dd', { class: 'num' }, value));
const us = (v) => (v === null || v === undefined ? '—' : v >= 1000 ? `${(v / 1000).toFixed(1)} ms` : `${v} µs`);
