// Translations: zh-CN by default, en on request; the choice is kept in localStorage.
import zh from '../i18n/zh-CN.js';
import en from '../i18n/en.js';

const LANG_KEY = 'kolhost.lang';
const dictionaries = { 'zh-CN': zh, en };
export const LANGS = [['zh-CN', '中文'], ['en', 'English']];

let current = dictionaries[localStorage.getItem(LANG_KEY)] ? localStorage.getItem(LANG_KEY) : 'zh-CN';
document.documentElement.lang = current;

export function lang() {
  return current;
}

export function setLang(code) {
  if (!dictionaries[code]) return;
  current = code;
  localStorage.setItem(LANG_KEY, code);
  document.documentElement.lang = code;
}

/** t('contracts.title'), t('common.count', {n: 3}); a missing key falls back to English, then the key. */
export function t(key, vars) {
  let s = dictionaries[current][key] ?? en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? `{${k}}`));
  return s;
}

/** Whether the dictionaries know `key` (then `t` writes it from a code and its params). */
export function has(key) {
  return key in dictionaries[current] || key in en;
}

/**
 * A server message from its stable `code` and `params` in the UI's language: amounts (`*_fen`)
 * in yuan, times in local time, statuses and rules by name; the server's English `fallback`
 * when the code is not in the dictionary under `group`.
 */
export function coded(group, code, params, fallback, fmt) {
  const key = `${group}.${code}`;
  if (!code || !has(key)) return fallback || '';
  const vars = {};
  for (const [k, v] of Object.entries(params || {})) {
    if (k.endsWith('_fen') && Number.isInteger(v)) vars[k] = fmt.yuan(v);
    else if (k.endsWith('_exact_fen') || k === 'exact_fen') vars[k] = v;
    else if (k.endsWith('_bp') && Number.isInteger(v)) vars[k] = fmt.pct(v);
    else if (k.endsWith('_at') && typeof v === 'string') vars[k] = fmt.dateTime(v);
    else if (k === 'rule' || k === 'status' || k === 'platform' || k === 'remedy') vars[k] = tt(k === 'status' ? 'status' : k, v);
    else vars[k] = v;
  }
  return t(key, vars);
}

/** An enum value's label, e.g. tt('status', 'draft'); unknown values show as they are. */
export function tt(group, value) {
  const key = `${group}.${value}`;
  const s = dictionaries[current][key] ?? en[key];
  return s ?? String(value);
}
