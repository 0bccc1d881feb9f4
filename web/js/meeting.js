// The meeting page (/m/<id>): what the meeting is, the code of conduct, joining, the room.
import { $, api, h, problem, when } from './dom.js';
import { setupShell } from './shell.js';
import { deviceToken } from './connection.js';
import { RoomView } from './roomview.js';

setupShell();

const FORMATS = {
  '12-step': '12-step', 'smart-recovery': 'SMART Recovery', 'open-share': 'Open share',
  'family-and-friends': 'Family and friends', 'peer-mentoring': 'Peer mentoring',
};
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const id = decodeURIComponent(location.pathname.match(/^\/m\/([^/]+)/)?.[1] || new URLSearchParams(location.search).get('id') || '');
const form = $('#join');
const err = $('#join-err');
let detail = null;
let view = null;

// Why a name was refused (`422 name_refused`: the message is one of these codes, docs/protocol.md).
const NAME_PROBLEMS = {
  'name.invisible': 'That name has hidden characters. Type it again with letters only.',
  'name.length': 'Choose a name of 1 to 32 characters.',
  'name.no_letters': 'Choose a name with at least one letter or digit.',
  'name.marks': 'That name has too many accents stacked on a letter. Choose a simpler one.',
  'name.mixed_script': 'That name mixes look-alike letters from different alphabets. Choose another.',
  'name.reserved': 'Names cannot claim a role such as host, admin or moderator. Choose another.',
  'name.confusable': 'That name looks like a facilitator’s name. Choose another.',
  'name.abuse': 'That name could hurt people here. Choose another.',
  'name.contact': 'To keep everyone anonymous, names cannot hold phone numbers, e-mail addresses, handles or links.',
  'name.solicitation': 'Names cannot advertise or offer anything for sale. Choose another.',
};

/** A join ticket; a refusal becomes an Error whose `final` names the ending (no retry). */
async function ticket(name, passcode) {
  const body = { name, device: deviceToken() };
  if (passcode) body.passcode = passcode;
  const r = await api(`/api/meetings/${encodeURIComponent(id)}/tickets`, 'POST', body);
  if (r.ok) return r.data.ticket;
  const d = r.data && r.data.detail;
  const refused = d && d.code === 'name_refused' ? NAME_PROBLEMS[d.message] || 'Choose another name.' : null;
  const e = new Error(refused || problem(r.data, 'Could not join right now.'));
  if (r.status >= 400 && r.status < 500 && r.status !== 429) e.final = r.status === 409 ? 'name_taken' : 'refused';
  e.status = r.status;
  throw e;
}

function describe(d) {
  // Not the meeting's title: the tab's title goes into the browser's history and its list of
  // recent apps, where on a shared phone "Tuesday AA" says more than a link does.
  document.title = 'Meeting · Haven';
  $('#title').textContent = d.title;
  const bits = [FORMATS[d.format] || d.format];
  if (d.next && d.next.live) bits.push('on now');
  else if (d.next) {
    bits.push(`next: ${when(Date.parse(d.next.start_utc))}`);
  }
  if (d.weekdays && d.weekdays.length) bits.push(d.weekdays.length === 7 ? 'every day' : d.weekdays.map((i) => DAYS[i]).join(', '));
  bits.push(d.duration_min >= 120 ? `${Math.round(d.duration_min / 6) / 10} h` : `${d.duration_min} min`);
  if (d.facilitators && d.facilitators.length) bits.push(`facilitated by ${d.facilitators.join(', ')}`);
  if (d.lobby) bits.push('waiting room');
  $('#meta').textContent = bits.join(' · ');
  $('#desc').textContent = d.description || '';
  $('#pass-box').hidden = !d.has_passcode;
  $('#passcode').required = !!d.has_passcode;
  $('#join-btn').disabled = false;
}

// Unsent text from a stay that ended (memory only), and the name it was written under: it
// comes back in the composer only for a join under the same name (a shared phone's next
// person does not get it).
let draft = null;
let joinedAs = '';

// A proof of attendance of a stay whose link was down too long (docs/api.md): it stays on the
// join form, beside the next try, until cleared.
let kept = null;

function keptSlip(slip) {
  kept?.clear(); // one kept at a time: an older one (a name on it) does not linger unseen
  kept = slip;
  $('#kept-slip')?.remove();
  const row = h('p', { id: 'kept-slip', class: 'row' },
    h('button', { type: 'button', text: 'Show my proof of attendance (before the connection dropped)', onclick: () => slip.show() }),
    h('button', { type: 'button', text: 'Clear it from this phone', onclick: () => { slip.clear(); kept = null; row.remove(); } }));
  $('#join-err').after(row);
}

function enter(getTicket) {
  $('#intro').hidden = true;
  const app = $('#app');
  app.hidden = false;
  view = new RoomView(app, {
    meetingId: id,
    detail,
    getTicket,
    draft: draft && draft.name === joinedAs ? draft.text : '',
    onEnd: (reason, code, again, text, unsent, slip) => {
      draft = again && unsent && joinedAs ? { name: joinedAs, text: unsent } : null;
      if (!again) return;
      if (slip) keptSlip(slip);
      // Back to the form: a new name, or simply joining again as a new member.
      $('#intro').hidden = false;
      app.hidden = true;
      err.textContent = text;
      $('#join-btn').disabled = false;
      $('#name').focus();
    },
  });
  draft = null;
  view.start();
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.textContent = '';
  const name = $('#name').value.trim();
  const passcode = $('#passcode').value;
  if (!name) { err.textContent = 'Choose a name to use in this meeting.'; $('#name').focus(); return; }
  if (detail.has_passcode && !passcode) { err.textContent = 'Enter the passcode you were given.'; $('#passcode').focus(); return; }
  const btn = $('#join-btn');
  btn.disabled = true;
  btn.textContent = 'Joining…';
  let first;
  try { first = await ticket(name, passcode); } catch (e) {
    err.textContent = e.status ? e.message : 'No connection. Check your network and try again.';
    btn.disabled = false;
    btn.textContent = 'Join the meeting';
    return;
  }
  btn.textContent = 'Join the meeting';
  joinedAs = name;
  enter(async () => {
    if (first) { const t = first; first = null; return t; }
    return ticket(name, passcode);
  });
});

const resumeKey = 'haven.r.' + id;
const resuming = !!sessionStorage.getItem(resumeKey);
// A reload is the person themself: straight back in. Arriving any other way (Back from
// another page, the link opened again in this tab) may be the next person holding a shared
// phone: they are asked first, and the meeting is not shown until they say it was them.
const askFirst = resuming && performance.getEntriesByType('navigation')[0]?.type !== 'reload';
if (resuming && !askFirst) $('#intro').hidden = true;

function rejoin() {
  enter(async () => { const e = new Error('Join again'); e.final = 'rejoin'; throw e; });
}

function askToContinue() {
  const card = h('section', { class: 'card', role: 'alert' },
    h('h2', { text: 'Were you just in this meeting?' }),
    h('p', { text: 'This tab was in this meeting a few moments ago. If that was you, continue where you left off. If someone else is using this phone now, start fresh.' }),
    h('p', { class: 'row' },
      h('button', { type: 'button', class: 'primary', text: 'Continue', onclick: () => { card.remove(); rejoin(); } }),
      h('button', { type: 'button', text: 'Start fresh', onclick: () => { sessionStorage.removeItem(resumeKey); card.remove(); $('#name').focus(); } })));
  form.before(card);
  card.querySelector('button').focus();
}

async function load() {
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) { $('#meta').textContent = 'This meeting link is not valid.'; return; }
  let r;
  try { r = await api(`/api/meetings/${encodeURIComponent(id)}`); } catch { r = null; }
  if (!r) {
    $('#intro').hidden = false;
    $('#meta').textContent = 'You are offline. This page will load the meeting when you are back online.';
    addEventListener('online', load, { once: true });
    return;
  }
  if (!r.ok) {
    $('#intro').hidden = false;
    $('#meta').textContent = 'This meeting link is not valid, or the meeting no longer exists.';
    return;
  }
  detail = r.data;
  describe(detail);
  // This tab was already in the meeting (a reload, or the phone closed the tab): resume it,
  // after asking unless it was a reload.
  if (askFirst) askToContinue();
  else if (resuming) rejoin();
}

load();
