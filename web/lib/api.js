// The API client: bearer token from localStorage, JSON in and out, problem+json errors as ApiError.

import { lang } from './i18n.js';

const TOKEN_KEY = 'kolhost.token';

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY),
  set: (t) => localStorage.setItem(TOKEN_KEY, t),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

/** An RFC 9457 problem (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.problem = problem;
    // A 404 on a collection path means the API itself is missing (not yet deployed here).
    this.missingApi = status === 404 && problem.params?.what === 'route';
  }

  /** The message for one field, if the server named it. */
  fieldMessage(field) {
    return this.errors.find((e) => e.field === field)?.message;
  }
}

function url(path, query) {
  const u = new URL(path.startsWith('/webhooks') ? path : `/api/v1${path}`, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  }
  return u.pathname + u.search;
}

/**
 * api('/contracts', {query: {status: 'draft'}}); api('/contracts', {method: 'POST', body: {...}});
 * api('/plugins', {method: 'POST', form: formData}).
 */
export async function api(path, { method = 'GET', body, form, query, signal, raw } = {}) {
  // Error texts come back in the UI's language.
  const headers = { accept: 'application/json, application/problem+json', 'accept-language': lang() };
  const t = token.get();
  if (t) headers.authorization = `Bearer ${t}`;
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(url(path, query), { method, headers, body: payload, signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { detail: e.message });
  }
  if (res.status === 401 && t) window.dispatchEvent(new CustomEvent('kolhost:unauthorized'));
  if (!res.ok) {
    let problem = {};
    try { problem = await res.json(); } catch { problem = { title: res.statusText }; }
    throw new ApiError(res.status, problem);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  const type = res.headers.get('content-type') || '';
  return type.includes('json') ? res.json() : res.text();
}

/** Every item of a collection, following `next_cursor` (up to `max` items). */
export async function listAll(path, query = {}, { max = 5000, signal } = {}) {
  const items = [];
  let cursor;
  do {
    const page = await api(path, { query: { ...query, limit: 500, cursor }, signal });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/** Like listAll, but a missing API answers null instead of throwing. */
export async function listIfAvailable(path, query, opts) {
  try {
    return await listAll(path, query, opts);
  } catch (e) {
    if (e.status === 404 || e.status === 403) return null;
    throw e;
  }
}

/** Ids to names, cached for the session of the page (brands, KOLs, products change rarely). */
const cache = new Map();
export function cached(key, load) {
  if (!cache.has(key)) cache.set(key, load().catch((e) => { cache.delete(key); throw e; }));
  return cache.get(key);
}
export function invalidate(prefix) {
  for (const k of cache.keys()) if (k.startsWith(prefix)) cache.delete(k);
}

export const lookups = {
  brands: () => cached('brands', () => listAll('/brands')),
  kols: () => cached('kols', () => listAll('/kols')),
  products: () => cached('products', () => listAll('/products')),
};

export function byId(items) {
  return new Map((items || []).map((x) => [x.id, x]));
}
