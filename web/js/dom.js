// Tiny DOM helpers. Text only ever goes in through textContent or Text nodes: never innerHTML.

/** h('p', {class: 'x', text: 'hi', onclick: fn}, child, 'text', ...) */
export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (typeof v === 'boolean') { if (k in el) el[k] = v; else el.toggleAttribute(k, v); }
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat(9)) if (kid != null && kid !== false) el.append(kid);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function fill(el, ...kids) {
  el.replaceChildren(...kids.flat(9).filter((k) => k != null && k !== false));
  return el;
}

/** JSON over fetch: {ok, status, data}; never throws for HTTP errors, only for no network. */
// A request that has not answered in this long is given up (it throws, as a dead network
// does): on a link that stalls without failing, "Joining…" must not hang for minutes, and a
// reconnect waiting for a ticket must get to try again.
const API_TIMEOUT_MS = 20000;

export async function api(path, method = 'GET', body) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), API_TIMEOUT_MS);
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin', signal: abort.signal };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    const res = await fetch(path, init);
    let data = null;
    if (res.status !== 204) data = await res.json().catch(() => null);
    return { ok: res.ok, status: res.status, data };
  } finally {
    clearTimeout(timer);
  }
}

/** The human message of an API error body ({detail: str | {message} | [{msg}]}). */
export function problem(data, fallback) {
  const d = data && data.detail;
  if (typeof d === 'string') return d;
  if (d && d.message) return d.message;
  if (Array.isArray(d) && d[0] && d[0].msg) return d[0].msg.replace(/^Value error, /, '');
  return fallback;
}

// Plain Date arithmetic, not Intl: building an Intl formatter loads locale data, a long task
// of a few hundred milliseconds on a cheap phone, and the interface is in English anyway.
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n) => String(n).padStart(2, '0');

/** "18:30" in this device's time zone. */
export function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** "Tuesday, Nov 24, 18:30" in this device's time zone. */
export function when(ms) {
  const d = new Date(ms);
  return `${DAYS[d.getDay()]}, ${MONTHS[d.getMonth()]} ${d.getDate()}, ${clock(ms)}`;
}
