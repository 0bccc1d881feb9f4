// What every page shares: the text-size control, "Get help now", the service worker.
import { $, h, fill, api } from './dom.js';

const TS_KEY = 'haven.ts';
let card = null;

/** `update`: this page has no meeting in it, so a new release of the client may take over and
 * the page reload into it (web/sw.js). */
export function setupShell({ update = false } = {}) {
  const root = document.documentElement;
  let ts = Number(localStorage.getItem(TS_KEY)) || 1;
  const apply = () => {
    root.classList.remove('ts-2', 'ts-3', 'ts-4');
    if (ts > 1) root.classList.add('ts-' + ts);
  };
  apply();
  for (const b of document.querySelectorAll('[data-ts]')) {
    b.addEventListener('click', () => {
      ts = Math.min(4, Math.max(1, ts + Number(b.dataset.ts)));
      apply();
      localStorage.setItem(TS_KEY, String(ts)); // a display preference, nothing personal
    });
  }
  for (const b of document.querySelectorAll('[data-help]')) b.addEventListener('click', () => openHelp());
  if ('serviceWorker' in navigator) {
    addEventListener('load', () => navigator.serviceWorker.register('/sw.js')
      .then((reg) => { if (update) takeUpdate(reg); }).catch(() => {}));
  }
}

function takeUpdate(reg) {
  if (!navigator.serviceWorker.controller) return; // a first install takes over by itself
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!reloading) { reloading = true; location.reload(); }
  });
  // The worker refuses while another page is open; a release it leaves waiting takes over
  // once every page of the old one is closed.
  const ask = (worker) => worker?.postMessage('activate');
  ask(reg.waiting);
  reg.addEventListener('updatefound', () => {
    const next = reg.installing;
    next?.addEventListener('statechange', () => { if (next.state === 'installed') ask(next); });
  });
}

/** Open the crisis resources; `c` is a care card from the server, else the configured one. */
export async function openHelp(c) {
  const dlg = $('#help');
  if (c) card = c;
  render();
  if (!dlg.open) dlg.showModal();
  if (!card) {
    const r = await api('/api/help').catch(() => null);
    if (r && r.ok && r.data) { card = r.data; render(); }
  }
}

function render() {
  const c = card || {};
  $('#help-intro')?.remove();
  if (c.intro) $('#help-list').before(h('p', { id: 'help-intro', text: c.intro }));
  fill($('#help-list'), (c.lines || []).map(line));
}

const HOW = { call: 'Call', text: 'Text', chat: 'Chat online' };

/** One way to get help ({name, contact, how: call|text|chat, url?, note?}). */
function line(l) {
  const digits = String(l.contact || '').replace(/[^+\d]/g, '');
  const href = l.how === 'chat' ? l.url : digits ? (l.how === 'text' ? 'sms:' : 'tel:') + digits : l.url;
  const safe = href && /^(https:|tel:|sms:)/.test(href);
  return h('li', null,
    h('strong', { text: l.name }),
    h('p', null, safe ? h('a', { href, text: `${HOW[l.how] || ''} ${l.how === 'chat' ? '' : l.contact}`.trim() }) : `${HOW[l.how] || ''} ${l.contact}`),
    l.note ? h('p', { class: 'hint', text: l.note }) : null,
    l.url && l.how !== 'chat' && /^https:/.test(l.url) ? h('p', null, h('a', { href: l.url, rel: 'noopener noreferrer', target: '_blank', text: 'Website' })) : null);
}
