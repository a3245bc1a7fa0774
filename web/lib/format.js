// Money, rates and times. Money is integer fen and stays integer: no floating point on amounts.
import { lang } from './i18n.js';

const group = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** 123456 -> "¥1,234.56"; null -> "—". */
export function yuan(fen) {
  if (fen === null || fen === undefined || Number.isNaN(fen)) return '—';
  const n = BigInt(Math.trunc(fen));
  const neg = n < 0n;
  const abs = neg ? -n : n;
  return `${neg ? '-' : ''}¥${group((abs / 100n).toString())}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** A short amount for chart axes: ¥1.2万 / ¥12k. */
export function yuanShort(fen) {
  const y = Number(fen) / 100;
  return `¥${new Intl.NumberFormat(lang(), { notation: 'compact', maximumFractionDigits: 1 }).format(y)}`;
}

/** "1,234.5" / "¥1234.56" / "12" -> fen; anything else -> NaN. Exact: parsed as digits. */
export function parseYuan(text) {
  const s = String(text ?? '').replace(/[¥,\s]/g, '');
  const m = /^(-?)(\d+)(?:\.(\d{0,2}))?$/.exec(s);
  if (!m) return NaN;
  const fen = Number(m[2]) * 100 + Number((m[3] || '').padEnd(2, '0'));
  return m[1] ? -fen : fen;
}

/** fen -> "1234.56" for an input's value. */
export function fenToInput(fen) {
  if (fen === null || fen === undefined) return '';
  return yuan(fen).replace(/[¥,]/g, '');
}

/** 2000 -> "20%", 2550 -> "25.5%". */
export function pct(bp) {
  if (bp === null || bp === undefined) return '—';
  return `${bpToInput(bp)}%`;
}

export function bpToInput(bp) {
  const neg = bp < 0;
  const abs = Math.abs(Math.trunc(bp));
  const frac = String(abs % 100).padStart(2, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${Math.trunc(abs / 100)}${frac ? `.${frac}` : ''}`;
}

/** "20" / "25.5" (percent) -> basis points; else NaN. */
export function parsePct(text) {
  const m = /^(-?)(\d+)(?:\.(\d{0,2}))?$/.exec(String(text ?? '').replace(/[%\s]/g, ''));
  if (!m) return NaN;
  const bp = Number(m[2]) * 100 + Number((m[3] || '').padEnd(2, '0'));
  return m[1] ? -bp : bp;
}

export function int(n) {
  if (n === null || n === undefined) return '—';
  return new Intl.NumberFormat(lang()).format(n);
}

export function compact(n) {
  return new Intl.NumberFormat(lang(), { notation: 'compact', maximumFractionDigits: 1 }).format(n);
}

/** RFC 3339 -> local date and time. */
export function dateTime(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export function date(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(lang(), { dateStyle: 'medium' }).format(new Date(iso));
}

/**
 * A half-open period [start, end) as its first and last included day in China Standard Time,
 * where settlements and tax count days: [11-01, 12-01) reads 2026年11月1日 – 2026年11月30日.
 */
export function period(start, end) {
  if (!start || !end) return '—';
  const f = new Intl.DateTimeFormat(lang(), { dateStyle: 'medium', timeZone: 'Asia/Shanghai' });
  return `${f.format(new Date(start))} – ${f.format(new Date(new Date(end).getTime() - 1))}`;
}

export function time(iso) {
  return new Intl.DateTimeFormat(lang(), { timeStyle: 'short' }).format(new Date(iso));
}

/** A local <input type="date"> value (YYYY-MM-DD) -> RFC 3339 UTC of local midnight. */
export function localDateToUtc(value) {
  if (!value) return null;
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d).toISOString().replace('.000Z', 'Z');
}

/** RFC 3339 -> local YYYY-MM-DD for a date input. */
export function utcToLocalDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** <input type="datetime-local"> value -> RFC 3339 UTC. */
export function localDateTimeToUtc(value) {
  if (!value) return null;
  return new Date(value).toISOString().replace('.000Z', 'Z');
}

export function utcToLocalDateTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** A local calendar day key (YYYY-MM-DD) `days` from today. */
export function dayKey(offsetDays = 0) {
  const d = new Date();
  d.setDate(d.getDate() + offsetDays);
  return utcToLocalDate(d.toISOString());
}

export function shortId(id) {
  return id ? String(id).slice(-6) : '—';
}
