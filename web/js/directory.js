// The directory: listed meetings, soonest first, in this device's time zone.
import { $, h, fill, api, when as at } from './dom.js';
import { setupShell } from './shell.js';

setupShell({ update: true });

const FORMATS = {
  '12-step': '12-step', 'smart-recovery': 'SMART Recovery', 'open-share': 'Open share',
  'family-and-friends': 'Family and friends', 'peer-mentoring': 'Peer mentoring',
};
// A short list instead of Intl.DisplayNames (see dom.js: Intl costs a long task on phones).
const LANGS = {
  ar: 'العربية', de: 'Deutsch', en: 'English', es: 'Español', fr: 'Français', hi: 'हिन्दी',
  it: 'Italiano', ja: '日本語', nl: 'Nederlands', pl: 'Polski', pt: 'Português', ru: 'Русский',
  sv: 'Svenska', tr: 'Türkçe', uk: 'Українська', zh: '中文',
};
function langName(code) {
  const base = LANGS[code.split('-')[0]];
  return LANGS[code] || (base ? `${base} (${code})` : code);
}
const form = $('#filters');
const seen = new Set();


const length = (min) => (min >= 120 ? `${Math.round(min / 6) / 10} h` : `${min} min`);

function when(next) {
  if (!next) return 'No upcoming time';
  if (next.live) return 'On now';
  return at(Date.parse(next.start_utc));
}

function entry(m) {
  const bits = [FORMATS[m.format] || m.format, langName(m.language), length(m.duration_min), `host ${m.host}`];
  if (m.has_passcode) bits.push('passcode');
  if (m.lobby) bits.push('waiting room');
  return h('li', null, h('a', { class: 'meet card', href: `/m/${encodeURIComponent(m.id)}` },
    h('h3', null, m.title),
    h('p', null, m.next && m.next.live ? h('span', { class: 'pill live', text: 'Live' }) : null,
      m.next && m.next.live ? ' ' : null, when(m.next)),
    h('p', { text: bits.join(' · ') })));
}

async function load() {
  const data = new FormData(form);
  const q = new URLSearchParams();
  if (data.get('format')) q.set('format', data.get('format'));
  if (data.get('language')) q.set('language', data.get('language'));
  if (data.get('live')) q.set('live', 'true');
  const status = $('#status');
  status.textContent = 'Loading meetings…';
  let r;
  try { r = await api('/api/meetings?' + q); } catch { r = null; }
  if (!r || !r.ok) {
    status.textContent = navigator.onLine ? 'Could not load the meetings. Try again in a moment.' : 'You are offline. Meetings will show when you are back online.';
    return;
  }
  const list = r.data.meetings || [];
  const langSel = $('#f-lang');
  for (const m of list) {
    if (seen.has(m.language)) continue;
    seen.add(m.language);
    langSel.append(h('option', { value: m.language, text: langName(m.language) }));
  }
  fill($('#list'), list.map(entry));
  status.textContent = list.length ? `${list.length} meeting${list.length > 1 ? 's' : ''}` : 'No meetings match. Try another filter.';
}

form.addEventListener('change', load);
form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
addEventListener('online', load);
load();
