// Check a proof of attendance (docs/api.md): the code and the name go to the server in a POST
// body, never in a URL, and nothing of them is kept on this page after it is left.
import { $, h, fill, api } from './dom.js';
import { setupShell } from './shell.js';

setupShell();

const form = $('#check');
const result = $('#result');
const err = $('#err');

function when(iso) {
  const d = new Date(iso);
  return d.toLocaleString([], { dateStyle: 'full', timeStyle: 'short' });
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.textContent = '';
  result.hidden = true;
  const code = $('#code').value.trim();
  const name = $('#name').value.trim();
  if (!code || !name) { err.textContent = 'Enter the code and the name on the slip.'; return; }
  let res;
  try { res = await api('/api/attendance/verify', 'POST', { code, name }); } catch {
    err.textContent = 'No connection to the server. Try again in a moment.';
    return;
  }
  if (res.ok) {
    const s = res.data;
    const sameDay = new Date(s.entered).toDateString() === new Date(s.until).toDateString();
    const end = sameDay ? new Date(s.until).toLocaleTimeString([], { timeStyle: 'short' }) : when(s.until);
    fill(result,
      h('h2', { text: 'Valid slip' }),
      h('p', null, h('strong', { text: s.name }), ' was in the meeting room of ',
        h('strong', { text: s.title || 'a meeting that has since been removed' }),
        s.title ? ' (the meeting\'s name today).' : '.'),
      h('p', { text: `From ${when(s.entered)} to ${end}: ${s.minutes} minute${s.minutes === 1 ? '' : 's'} (times in this device's time zone).` }),
      h('p', { class: 'hint', text: `In UTC: ${s.entered.replace('T', ' ').slice(0, 16)} to ${s.until.replace('T', ' ').slice(0, 16)}.` }));
    result.hidden = false;
    result.focus?.();
  } else if (res.status === 404) {
    err.textContent = 'This code and name do not match a slip from this server. Check both, letter by letter.';
  } else if (res.status === 429) {
    err.textContent = 'Too many checks from here: wait a minute and try again.';
  } else {
    err.textContent = 'Enter the code (eight groups of five) and the name as printed.';
  }
});
