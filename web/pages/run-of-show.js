// A session's run-of-show (直播脚本), kept in the session's `outline` text as sections an agency's
// checklist names, each under a `## ` heading, so the server's compliance check reads all of it
// and any other tool sees plain text:
//   ## 定位与销售策略 / ## 设备 / ## 场地与布景 / ## 商品陈列 / ## 主播 / ## 时间流程
// The timed outline is one line per item, `- 20:00 开场福利`. Text outside the known sections
// (an outline written before, or by another tool) is kept as it was, under 其他.
import { h, field } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

/** The sections in checklist order: key, Chinese heading (stored), English heading (read too). */
export const SECTIONS = [
  ['strategy', '定位与销售策略', 'Positioning and sales strategy'],
  ['equipment', '设备', 'Equipment'],
  ['set', '场地与布景', 'Room and set'],
  ['display', '商品陈列', 'Product display'],
  ['anchor', '主播', 'Anchor'],
  ['timeline', '时间流程', 'Timed outline'],
];

const TIMED = /^-?\s*(\d{1,2}:\d{2})\s+(.*)$/;

/** Outline text -> {strategy, equipment, set, display, anchor, timeline: [{at, item}], other}. */
export function parseOutline(text) {
  const out = Object.fromEntries(SECTIONS.map(([k]) => [k, k === 'timeline' ? [] : '']));
  const other = [];
  let current = null;
  for (const line of String(text || '').split('\n')) {
    const head = /^##\s+(.+?)\s*$/.exec(line);
    if (head) {
      const s = SECTIONS.find(([, zh, en]) => head[1] === zh || head[1].toLowerCase() === en.toLowerCase());
      current = s ? s[0] : null;
      if (!s) other.push(line);
      continue;
    }
    if (current === 'timeline') {
      if (!line.trim()) continue;
      const m = TIMED.exec(line.trim());
      out.timeline.push(m ? { at: m[1].padStart(5, '0'), item: m[2] } : { at: '', item: line.trim().replace(/^-\s*/, '') });
    } else if (current) {
      out[current] += (out[current] ? '\n' : '') + line;
    } else {
      other.push(line);
    }
  }
  for (const [k] of SECTIONS) if (k !== 'timeline') out[k] = out[k].trim();
  out.other = other.join('\n').trim();
  return out;
}

/** The parsed form back to outline text (empty sections are left out). */
export function composeOutline(o) {
  const parts = [];
  if (o.other && o.other.trim()) parts.push(o.other.trim());
  for (const [k, zh] of SECTIONS) {
    if (k === 'timeline') {
      const rows = (o.timeline || []).filter((r) => r.item.trim() || r.at);
      if (rows.length) parts.push(`## ${zh}\n${rows.map((r) => `- ${r.at ? `${r.at} ` : ''}${r.item.trim()}`).join('\n')}`);
    } else if (o[k] && o[k].trim()) {
      parts.push(`## ${zh}\n${o[k].trim()}`);
    }
  }
  return parts.join('\n\n');
}

/** The outline read-only, section by section. */
export function outlineView(text) {
  const o = parseOutline(text);
  const blocks = [];
  for (const [k] of SECTIONS) {
    if (k === 'timeline') {
      if (o.timeline.length) {
        blocks.push(h('section', { class: 'ros-section', 'data-section': k }, h('h3', null, t(`ros.${k}`)),
          h('ol', { class: 'ros-timeline' }, o.timeline.map((r) => h('li', null, r.at ? h('time', null, r.at) : null, ' ', r.item)))));
      }
    } else if (o[k]) {
      blocks.push(h('section', { class: 'ros-section', 'data-section': k }, h('h3', null, t(`ros.${k}`)), h('p', { class: 'pre' }, o[k])));
    }
  }
  if (o.other) blocks.push(h('section', { class: 'ros-section', 'data-section': 'other' }, h('h3', null, t('ros.other')), h('p', { class: 'pre' }, o.other)));
  return blocks;
}

/**
 * An editor of the outline: a text area per section and the timed outline as rows. Its `value()`
 * is the outline text; errors of the server's `outline` field land in its error slot.
 */
export function outlineEditor(text) {
  const o = parseOutline(text);
  const areas = {};
  const rowsBox = h('ol', { class: 'ros-rows' });
  const addRow = (r = { at: '', item: '' }) => {
    const at = h('input', { type: 'time', value: r.at, 'aria-label': t('ros.at') });
    const item = h('input', { type: 'text', value: r.item, 'aria-label': t('ros.item'), placeholder: t('ros.itemHint') });
    const li = h('li', { class: 'ros-row' }, at, item,
      h('button', { type: 'button', class: 'ghost small', 'aria-label': t('ros.removeRow'), onclick: () => li.remove() }, '×'));
    li.read = () => ({ at: at.value, item: item.value });
    rowsBox.append(li);
    return item;
  };
  for (const r of o.timeline) addRow(r);
  const fields = SECTIONS.map(([k]) => {
    if (k === 'timeline') {
      return h('div', { class: 'field wide', 'data-field': 'timeline' }, h('span', { class: 'label' }, t('ros.timeline')), rowsBox,
        h('button', { type: 'button', class: 'ghost small', onclick: () => addRow().focus() }, t('ros.addRow')));
    }
    areas[k] = h('textarea', { rows: 3, value: o[k], placeholder: t(`ros.${k}Hint`) });
    return field(t(`ros.${k}`), areas[k], { wide: true });
  });
  areas.other = h('textarea', { rows: 2, value: o.other });
  const element = h('fieldset', { class: 'ros-editor wide' }, h('legend', null, t('session.outline')), fields,
    o.other ? field(t('ros.other'), areas.other, { wide: true }) : null,
    h('p', { class: 'field-error', 'data-error-for': 'outline' }));
  return {
    element,
    value: () => composeOutline({
      ...Object.fromEntries(Object.entries(areas).map(([k, a]) => [k, a.value])),
      timeline: [...rowsBox.children].map((li) => li.read()),
    }),
  };
}
