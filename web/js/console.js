// The facilitator console (/console): sign in, schedule meetings, run one.
// Running a meeting is the room view with the facilitator tools; the session cookie
// (HttpOnly, SameSite=Strict) makes the join ticket a facilitator's ticket.
import { $, h, fill, api, problem } from './dom.js';
import { setupShell } from './shell.js';
import { deviceToken } from './connection.js';
import { RoomView } from './roomview.js';

setupShell();

const FORMATS = [['open-share', 'Open share'], ['12-step', '12-step'], ['smart-recovery', 'SMART Recovery'], ['family-and-friends', 'Family and friends'], ['peer-mentoring', 'Peer mentoring']];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const SECTIONS = ['loading', 'login', 'invite', 'dash', 'editor', 'activity', 'app'];
// The audit's action codes (docs/api.md, "Audit") as a facilitator reads them.
const ACTIONS = {
  start: 'started the meeting', end: 'ended the meeting', admit: 'let a member in',
  deny: 'turned a member away', admit_all: 'let everyone waiting in', 'mute.on': 'muted a member',
  'mute.off': 'unmuted a member', 'mute_all.on': 'muted everyone', 'mute_all.off': 'unmuted everyone',
  remove: 'removed a member', 'remove.ban': 'removed and banned a member',
  to_lobby: 'sent a member back to the waiting room', lobby_message: 'wrote to the waiting room',
  private_message: 'wrote privately to a member', 'lock.on': 'locked the meeting',
  'lock.off': 'unlocked the meeting', slow_mode: 'changed slow mode', grant_floor: 'gave the floor',
  end_floor: 'ended a share', pin: 'changed the pinned reading', set_role: "changed a member's role",
  hand_over: 'handed the host role over', 'review.approve': 'approved a held message',
  'review.reject': 'rejected a held message', trust: "lifted a newcomer's limits",
};
let me = null;

function show(id) {
  for (const s of SECTIONS) $('#' + s).hidden = s !== id;
  const head = $(`#${id} h1`);
  if (head) { head.tabIndex = -1; head.focus(); }
}

// -- signing in ---------------------------------------------------------------------------------

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('#login-err');
  err.textContent = '';
  const body = { username: $('#username').value.trim(), password: $('#password').value };
  if (!body.username || !body.password) { err.textContent = 'Enter your username and password.'; return; }
  if (!$('#totp-box').hidden) body.totp = $('#totp').value.trim();
  let r;
  try { r = await api('/api/auth/login', 'POST', body); } catch { err.textContent = 'No connection. Try again.'; return; }
  if (r.ok) { me = r.data.facilitator; $('#password').value = ''; $('#totp').value = ''; return dashboard(); }
  const code = r.data && r.data.detail && r.data.detail.code;
  if (code === 'totp_required') {
    $('#totp-box').hidden = false;
    $('#totp').focus();
    err.textContent = 'Enter the 6-digit code from your authenticator app.';
    return;
  }
  err.textContent = problem(r.data, r.status === 429 ? 'Too many attempts; try again later.' : 'Wrong username, password or code.');
});

$('#logout').addEventListener('click', async () => {
  await api('/api/auth/logout', 'POST', {}).catch(() => null);
  me = null;
  show('login');
});

$('#invite-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const token = location.hash.slice(1);
  const body = { token, username: $('#inv-user').value.trim(), display_name: $('#inv-name').value.trim(), password: $('#inv-pass').value };
  const r = await api('/api/auth/invites/accept', 'POST', body).catch(() => null);
  if (!r || !r.ok) { $('#inv-err').textContent = problem(r && r.data, 'Could not create the account.'); return; }
  history.replaceState(null, '', '/console');
  $('#username').value = body.username;
  show('login');
  $('#login-err').textContent = 'Account created. Sign in with your new password.';
});

// -- two-step sign-in ---------------------------------------------------------------------------

$('#totp-setup').addEventListener('click', async () => {
  const p = $('#totp-panel');
  p.hidden = false;
  if (me && me.totp) {
    fill(p, h('p', { text: 'Two-step sign-in is on for your account.' }));
    return;
  }
  const r = await api('/api/auth/totp/enroll', 'POST', {});
  if (!r.ok) { fill(p, h('p', { class: 'err', text: problem(r.data, 'Could not start.') })); return; }
  const code = h('input', { id: 'totp-code', inputmode: 'numeric', maxlength: '6', autocomplete: 'one-time-code' });
  const pass = h('input', { id: 'totp-pass', type: 'password', autocomplete: 'current-password' });
  const out = h('p', { role: 'status' });
  fill(p,
    h('p', { text: 'Add this key to your authenticator app, then enter the code it shows.' }),
    h('p', null, h('code', { text: r.data.secret })),
    h('p', { class: 'hint', text: r.data.uri }),
    h('form', { onsubmit: async (e) => {
      e.preventDefault();
      const c = await api('/api/auth/totp/confirm', 'POST', { code: code.value.trim(), password: pass.value });
      out.textContent = c.ok ? 'Two-step sign-in is on.' : problem(c.data, 'That code did not work.');
      if (c.ok) me = c.data;
    } }, h('label', { for: 'totp-code', text: 'Code' }), code,
      h('label', { for: 'totp-pass', text: 'Your password' }), pass,
      h('button', { class: 'primary', text: 'Turn on' })),
    out);
});

// -- meetings -----------------------------------------------------------------------------------

async function dashboard() {
  show('dash');
  $('#who').textContent = `Signed in as ${me.display_name}`;
  const status = $('#dash-status');
  status.textContent = 'Loading your meetings…';
  const r = await api('/api/facilitator/meetings').catch(() => null);
  if (!r || !r.ok) { status.textContent = 'Could not load your meetings.'; return; }
  status.textContent = r.data.length ? '' : 'No meetings yet. Create one to get started.';
  fill($('#meetings'), r.data.map((m) => h('li', { class: 'card' },
    h('h2', { text: m.title }),
    h('p', { class: 'hint', text: schedule(m) }),
    h('p', null, 'Link to share: ', h('a', { href: `/m/${m.id}`, text: m.url })),
    h('p', { class: 'row' },
      h('button', { type: 'button', class: 'primary', text: 'Run meeting', onclick: () => run(m) }),
      m.is_owner ? h('button', { type: 'button', text: 'Edit', onclick: () => editor(m) }) : null,
      h('button', { type: 'button', text: 'Activity', 'aria-label': `Activity of ${m.title}`, onclick: () => activity(m) })))));
}

/** The meeting's content-free audit: who on the team did what, to which member, when. */
async function activity(m) {
  const box = $('#activity');
  const back = h('button', { type: 'button', text: 'Back to your meetings', onclick: () => dashboard() });
  fill(box, h('h1', { id: 'act-h', text: `Activity: ${m.title}` }), h('p', { role: 'status', text: 'Loading…' }));
  show('activity');
  const r = await api(`/api/meetings/${m.id}/audit`).catch(() => null);
  if (!r || !r.ok) { fill(box, h('h1', { id: 'act-h', text: `Activity: ${m.title}` }), h('p', { class: 'err', text: problem(r && r.data, 'Could not load the activity.') }), back); return; }
  const rows = r.data.slice().reverse(); // newest first
  // Members are random ids, meaningful only within one run of the meeting: shown short, so
  // that two actions about the same person can be told apart from actions about another.
  const who = (id) => (id ? `member ${id.slice(0, 4)}` : '');
  fill(box,
    h('h1', { id: 'act-h', text: `Activity: ${m.title}` }),
    h('p', { class: 'hint', text: 'What facilitators did in the last 30 days, newest first. Never what anyone said, nor any name a member used.' }),
    rows.length
      ? h('ul', { class: 'res' }, rows.map((a) => h('li', null,
        h('p', null, h('strong', { text: a.facilitator || 'A member made co-facilitator' }), ` ${ACTIONS[a.action] || a.action}`, a.target_member ? ` (${who(a.target_member)})` : ''),
        h('p', { class: 'hint', text: new Date(a.at).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) }))))
      : h('p', { text: 'Nothing yet.' }),
    h('p', { class: 'row' }, back));
}

function schedule(m) {
  const days = m.weekdays.length === 7 ? 'every day' : m.weekdays.map((d) => DAYS[d].slice(0, 3)).join(', ') || 'no regular schedule';
  const bits = [FORMATS.find((f) => f[0] === m.format)?.[1] || m.format, `${days} at ${m.start_time} (${m.timezone})`, `${m.duration_min} min`];
  if (m.next && m.next.live) bits.push('on now');
  if (m.has_passcode) bits.push('passcode');
  if (m.lobby) bits.push('waiting room');
  if (!m.listed) bits.push('unlisted');
  return bits.join(' · ');
}

$('#new').addEventListener('click', () => editor(null));

function field(id, label, input, hint) {
  input.id = id;
  return [h('label', { for: id, text: label }), input, hint ? h('p', { class: 'hint', text: hint }) : null];
}

function readingRow(rd, n) {
  rd = rd || { title: '', text: '' };
  const li = h('li', { class: 'card reading' });
  const t = h('input', { maxlength: '80', value: rd.title, 'aria-label': `Reading ${n + 1} title` });
  const x = h('textarea', { rows: 3, maxlength: '5000', 'aria-label': `Reading ${n + 1} text` });
  x.value = rd.text;
  li.append(t, x, h('button', { type: 'button', class: 'small danger', text: 'Remove reading', onclick: () => li.remove() }));
  return li;
}

function editor(m) {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const v = m || { title: '', description: '', format: 'open-share', language: 'en', weekdays: [], start_time: '19:00', duration_min: 60, timezone: tz, capacity: 100, lobby: true, chat_mode: 'open', members_visible: true, share_limit_s: 300, readings: [], listed: true, co_facilitators: [], has_passcode: false };
  const inp = (value, extra = {}) => h('input', { value: String(value ?? ''), ...extra });
  const check = (id, label, on) => h('label', { class: 'check' }, h('input', { type: 'checkbox', id, checked: !!on }), label);
  const f = {
    title: inp(v.title, { maxlength: '120', required: true }),
    description: h('textarea', { rows: 3, maxlength: '2000' }),
    format: h('select', null, FORMATS.map(([k, t]) => h('option', { value: k, text: t, selected: k === v.format }))),
    language: inp(v.language, { maxlength: '35' }),
    start_time: inp(v.start_time, { type: 'time' }),
    duration_min: inp(v.duration_min, { type: 'number', min: '5', max: '1440' }),
    timezone: inp(v.timezone, { maxlength: '64' }),
    capacity: inp(v.capacity, { type: 'number', min: '2', max: '500' }),
    share: inp(Math.round(v.share_limit_s / 60 * 10) / 10, { type: 'number', min: '0.5', max: '30', step: '0.5' }),
    chat_mode: h('select', null, [['open', 'Everyone can post'], ['facilitators', 'Only facilitators post']].map(([k, t]) => h('option', { value: k, text: t, selected: k === v.chat_mode }))),
    passcode: inp('', { type: 'password', autocomplete: 'new-password', maxlength: '128' }),
    cofacs: inp((v.co_facilitators || []).join(', ')),
  };
  f.description.value = v.description || '';
  const readings = h('ol', { class: 'list' }, (v.readings || []).map((rd, i) => readingRow(rd, i)));
  const err = h('p', { class: 'err', role: 'alert' });
  const form = h('form', { class: 'card', novalidate: true },
    field('ed-title', 'Title', f.title),
    field('ed-desc', 'Description', f.description),
    field('ed-format', 'Format', f.format),
    field('ed-lang', 'Language', f.language, 'A short language tag, such as en, es or pt-BR.'),
    h('fieldset', null, h('legend', { text: 'Every week on' }), h('div', { class: 'row' },
      DAYS.map((d, i) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'day', value: String(i), checked: v.weekdays.includes(i) }), d)))),
    field('ed-start', 'Start time (local)', f.start_time),
    field('ed-dur', 'Length in minutes', f.duration_min),
    field('ed-tz', 'Time zone', f.timezone, 'An IANA name such as Europe/London or America/Chicago.'),
    field('ed-cap', 'Capacity', f.capacity),
    field('ed-share', 'Share limit in minutes', f.share),
    field('ed-chat', 'Chat', f.chat_mode),
    check('ed-lobby', 'Waiting room: facilitators admit each person', v.lobby),
    check('ed-visible', 'Members can see who else is here', v.members_visible),
    check('ed-listed', 'List in the public directory', v.listed),
    field('ed-pass', v.has_passcode ? 'New passcode (leave empty to keep the current one)' : 'Passcode (optional)', f.passcode),
    v.has_passcode ? check('ed-nopass', 'Remove the passcode', false) : null,
    field('ed-cofac', 'Co-facilitators (usernames, comma separated)', f.cofacs),
    h('h2', { text: 'Readings' }), readings,
    h('button', { type: 'button', text: 'Add a reading', onclick: () => readings.append(readingRow(null, readings.children.length)) }),
    err,
    h('p', { class: 'row' }, h('button', { class: 'primary', text: m ? 'Save changes' : 'Create meeting' }),
      h('button', { type: 'button', text: 'Cancel', onclick: () => dashboard() })));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {
      title: f.title.value.trim(),
      description: f.description.value.trim(),
      format: f.format.value,
      language: f.language.value.trim() || 'en',
      weekdays: [...form.querySelectorAll('input[name=day]:checked')].map((c) => Number(c.value)),
      start_time: f.start_time.value,
      duration_min: Number(f.duration_min.value),
      timezone: f.timezone.value.trim(),
      capacity: Number(f.capacity.value),
      share_limit_s: Math.round(Number(f.share.value) * 60),
      chat_mode: f.chat_mode.value,
      lobby: $('#ed-lobby').checked,
      members_visible: $('#ed-visible').checked,
      listed: $('#ed-listed').checked,
      co_facilitators: f.cofacs.value.split(',').map((s) => s.trim()).filter(Boolean),
      readings: [...readings.children].map((li) => ({ title: li.children[0].value.trim(), text: li.children[1].value.trim() })).filter((rd) => rd.title && rd.text),
    };
    if (f.passcode.value) body.passcode = f.passcode.value;
    else if ($('#ed-nopass')?.checked) body.passcode = null;
    if (!body.title) { err.textContent = 'Give the meeting a title.'; return; }
    const r = await api(m ? `/api/meetings/${m.id}` : '/api/meetings', m ? 'PATCH' : 'POST', body).catch(() => null);
    if (!r || !r.ok) { err.textContent = problem(r && r.data, 'Could not save the meeting.'); return; }
    dashboard();
  });
  fill($('#editor'), h('h1', { id: 'ed-h', text: m ? `Edit: ${m.title}` : 'New meeting' }), form);
  show('editor');
}

// -- running a meeting --------------------------------------------------------------------------

async function run(m) {
  const detail = await api(`/api/meetings/${m.id}`).then((r) => r.data).catch(() => m);
  show('app');
  const view = new RoomView($('#app'), {
    meetingId: m.id,
    detail: detail || m,
    getTicket: async () => {
      const r = await api(`/api/meetings/${m.id}/tickets`, 'POST', { device: deviceToken() });
      if (r.ok) return r.data.ticket;
      const e = new Error(problem(r.data, 'Could not open the meeting.'));
      if (r.status >= 400 && r.status < 500 && r.status !== 429) e.final = 'refused';
      throw e;
    },
    onEnd: () => {
      $('#app').append(h('p', null, h('button', { type: 'button', class: 'primary', text: 'Back to your meetings', onclick: () => dashboard() })));
    },
  });
  view.start();
}

// -- start --------------------------------------------------------------------------------------

async function boot() {
  if (location.pathname.startsWith('/console/invite')) { show('invite'); return; }
  const r = await api('/api/auth/me').catch(() => null);
  if (r && r.ok) { me = r.data; dashboard(); } else show('login');
}

boot();
