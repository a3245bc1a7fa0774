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

/** An enum value's label, e.g. tt('status', 'draft'); unknown values show as they are. */
export function tt(group, value) {
  const key = `${group}.${value}`;
  const s = dictionaries[current][key] ?? en[key];
  return s ?? String(value);
}
