// Facilitator tools, loaded only when this member is the host or a co-facilitator:
// meeting controls, waiting room, hand queue and floor, review queue, crisis alerts, private
// messages, reports, and per-member actions. Commands only: the server decides and everyone
// sees the result.
import { h, fill, clock } from './dom.js';

const SLOW = [0, 10, 30, 60, 120, 300];

export function facilitate(view) {
  const send = (f) => view.send(f);
  const alerts = [];
  const reports = [];
  const sections = {};
  const keys = {};
  let confirmEnd = false;

  function section(name, title) {
    const body = h('div');
    const head = h('h2', { id: 'fac-' + name });
    const box = h('section', { class: 'card', 'aria-labelledby': 'fac-' + name }, head, body);
    sections[name] = { body, head, title };
    view.el.side.append(box);
  }
  section('controls', 'Meeting');
  section('alerts', 'Crisis alerts');
  section('private', 'Private messages');
  section('lobby', 'Waiting room');
  section('hands', 'Hands raised');
  section('holds', 'Messages to review');
  section('reports', 'Reports');

  /** Re-render one section only when what it shows changed. Controls that live longer than
   * one render (a text box being typed in) keep keyboard focus across it. */
  function put(name, key, count, kids) {
    const s = sections[name];
    s.head.textContent = count == null ? s.title : `${s.title} (${count})`;
    if (keys[name] === key) return;
    keys[name] = key;
    const focused = document.activeElement;
    fill(s.body, kids());
    if (focused && focused !== document.activeElement && s.body.contains(focused)) focused.focus();
  }

  // The waiting room's message box outlives the list's re-renders (someone arriving while a
  // facilitator types), and is cleared only once the message is out: one the pipeline refuses
  // stays for its writer to change.
  const lobbySay = h('input', { id: 'fac-lobby-say', maxlength: '2000', autocomplete: 'off' });
  let lobbySent = null;
  const lobbyForm = h('form', { class: 'composer', onsubmit: (ev) => {
    ev.preventDefault();
    const x = lobbySay.value.trim();
    if (x && send({ t: 'lobby_say', x })) lobbySent = x;
  } }, h('label', { for: 'fac-lobby-say', text: 'Message to the waiting room' }), lobbySay, h('button', { text: 'Send to waiting room' }));

  // Private messages: one thread per member, which the member and every facilitator read
  // (docs/protocol.md). Each thread's elements live as long as the page, so a message that
  // arrives while someone types neither re-renders nor clears what they were writing.
  const threads = new Map(); // member id -> {m, name, box, head, list, input, unread}
  function thread(m) {
    let t = threads.get(m);
    if (t) return t;
    const id = `fac-dm-${threads.size}`;
    const input = h('textarea', { id, rows: 2, maxlength: '2000', autocomplete: 'off' });
    const list = h('ol', { class: 'stream thread', 'aria-live': 'polite' });
    const head = h('summary');
    const box = h('details', { class: 'thread-box' }, head,
      h('p', { class: 'hint', text: 'The member and every facilitator see this thread.' }),
      list,
      h('form', { class: 'composer', onsubmit: (ev) => {
        ev.preventDefault();
        const x = input.value.trim();
        if (x && view.dm(x, m)) input.value = '';
      } }, h('label', { for: id, text: 'Private message' }), input, h('button', { text: 'Send privately' })));
    t = { m, name: view.room.name(m), box, head, list, input, unread: 0 };
    box.addEventListener('toggle', () => { if (box.open) { t.unread = 0; label(t); view.refreshTools(); } });
    threads.set(m, t);
    return t;
  }
  function label(t) {
    const here = view.room.members.has(t.m);
    if (here) t.name = view.room.name(t.m);
    const n = t.list.childElementCount;
    t.head.textContent = `${t.name}${here ? '' : ' (has left)'} · ${n} message${n === 1 ? '' : 's'}${t.unread ? ` · ${t.unread} new` : ''}`;
    t.input.disabled = !here;
  }
  view.threadBox = (m) => thread(m).input;
  /** Forget what the tools hold of people and their words (demoted, or the meeting is over). */
  view.dropTools = () => {
    threads.clear();
    alerts.length = 0;
    reports.length = 0;
    lobbySay.value = '';
    for (const name of Object.keys(keys)) delete keys[name];
    for (const s of Object.values(sections)) fill(s.body);
  };
  view.openThread = (m) => {
    const t = thread(m);
    label(t);
    view.refreshTools();
    t.box.open = true;
    t.input.focus();
  };

  // data-k lets a re-render give keyboard focus back to the same control.
  const btn = (text, frame, cls = 'small') => h('button', { type: 'button', class: cls, text, 'data-k': `${frame.t}:${frame.m || ''}:${frame.ban || ''}`, onclick: () => send(frame) });

  view.memberTools = (m) => {
    const r = view.room;
    const tools = h('div', { class: 'acts' },
      m.r === 'member' ? h('button', { type: 'button', class: 'small', text: 'Message privately', onclick: () => view.openThread(m.m) }) : null,
      btn(m.muted ? 'Unmute' : 'Mute', { t: 'mute', m: m.m, on: !m.muted }),
      m.r === 'member' ? btn('To waiting room', { t: 'to_lobby', m: m.m }) : null,
      btn('Remove', { t: 'remove', m: m.m, ban: false }, 'small danger'),
      btn('Ban', { t: 'remove', m: m.m, ban: true }, 'small danger'),
      // The newcomer review (a new member's first messages wait for a facilitator) lifted for
      // someone the team knows: a regular back under a new link, say.
      m.r === 'member' ? btn('Trust: no newcomer review', { t: 'trust', m: m.m }) : null,
      m.r === 'member' ? btn('Make co-facilitator', { t: 'role', m: m.m, r: 'cofac' }) : null,
      m.r === 'cofac' && r.role === 'host' ? btn('Make member', { t: 'role', m: m.m, r: 'member' }) : null,
      m.r === 'member' ? btn('Give the floor', { t: 'floor', m: m.m }) : null);
    // Which box is open is known from the click itself: its `toggle` event comes later, and a
    // list built again in between would otherwise close the box just opened.
    const d = h('details', { open: view.managing === m.m },
      h('summary', { text: `Manage ${m.n}`, 'data-k': `manage:${m.m}`, onclick: () => { view.managing = d.open ? null : m.m; } }), tools);
    d.addEventListener('toggle', () => { if (d.open) view.managing = m.m; else if (view.managing === m.m) view.managing = null; });
    return [d];
  };
  view.messageTools = (e) => [
    btn(`Mute ${e.n}`, { t: 'mute', m: e.m, on: true }),
    btn(`Remove ${e.n}`, { t: 'remove', m: e.m, ban: false }, 'small danger'),
  ];

  const onRaw = (e, replayed) => {
    if (e.t === 'alert') {
      alerts.push(e);
      if (!replayed) view.status(`Crisis alert: ${e.n} may need support. See Crisis alerts.`);
    } else if (e.t === 'report') {
      reports.push(e);
      if (!replayed) view.status('A member sent a report. See Reports.');
    } else if (e.t === 'lobby_msg' && e.m === view.room.me) {
      if (lobbySent !== null && lobbySay.value.trim() === lobbySent) lobbySay.value = '';
      lobbySent = null;
    } else if (e.t === 'dm') {
      const t = thread(e.m);
      const mine = e.w === view.room.me;
      if (e.w === e.m) t.name = e.n;
      t.list.append(h('li', { class: mine ? 'mine' : null },
        h('p', { class: 'who' }, mine ? 'You' : e.w === e.m ? e.n : `${e.n} (facilitator)`, h('time', { datetime: new Date(e.at).toISOString(), text: clock(e.at) })),
        h('p', { class: 'x', text: e.x })));
      while (t.list.childElementCount > 200) t.list.firstElementChild.remove();
      t.list.scrollTop = t.list.scrollHeight;
      if (!mine && !t.box.open) t.unread += 1;
      label(t);
      if (!replayed && e.w === e.m) view.status(`${e.n} wrote to the facilitators privately. See Private messages.`);
    }
  };
  for (const [e, replayed] of view.early.splice(0)) onRaw(e, replayed);
  view.onRaw(onRaw);

  view.onChange((r) => {
    const readings = view.detail.readings || [];
    put('controls', JSON.stringify([r.phase, r.locked, r.mutedAll, r.slow, r.pin, confirmEnd]), null, () => {
      const slow = h('select', { id: 'fac-slow', onchange: () => send({ t: 'slow', secs: Number(slow.value) }) },
        SLOW.map((s) => h('option', { value: String(s), selected: s === r.slow, text: s ? `one message every ${s} s` : 'off' })));
      const pin = h('select', { id: 'fac-pin', onchange: () => send({ t: 'pin', i: pin.value === '' ? null : Number(pin.value) }) },
        h('option', { value: '', text: 'nothing pinned', selected: r.pin == null }),
        readings.map((rd, i) => h('option', { value: String(i), text: rd.title, selected: r.pin === i })));
      const end = h('button', { type: 'button', class: confirmEnd ? 'danger primary' : 'danger', text: confirmEnd ? 'Yes, end for everyone' : 'End meeting' });
      end.addEventListener('click', () => {
        if (confirmEnd) send({ t: 'end' });
        confirmEnd = !confirmEnd;
        view.refreshTools();
      });
      return [
        h('p', { text: r.phase === 'live' ? 'The meeting is live.' : r.phase === 'waiting' ? 'The meeting has not started.' : 'The meeting has ended.' }),
        h('div', { class: 'row' },
          r.phase !== 'live' ? btn('Start meeting', { t: 'start' }, 'primary') : null,
          end,
          confirmEnd ? h('button', { type: 'button', text: 'Cancel', onclick: () => { confirmEnd = false; view.refreshTools(); } }) : null),
        h('div', { class: 'row' },
          h('button', { type: 'button', class: r.locked ? 'on' : null, 'aria-pressed': String(r.locked), text: r.locked ? 'Locked: unlock' : 'Lock meeting', onclick: () => send({ t: 'lock', on: !r.locked }) }),
          h('button', { type: 'button', class: r.mutedAll ? 'on' : null, 'aria-pressed': String(r.mutedAll), text: r.mutedAll ? 'Everyone muted: unmute' : 'Mute everyone', onclick: () => send({ t: 'mute_all', on: !r.mutedAll }) })),
        h('label', { for: 'fac-slow', text: 'Slow mode' }), slow,
        readings.length ? [h('label', { for: 'fac-pin', text: 'Pinned reading' }), pin] : null,
      ];
    });

    const waiting = r.waiting();
    put('lobby', JSON.stringify(waiting.map((m) => [m.m, m.n])), waiting.length, () => {
      return [
        waiting.length ? h('ul', { class: 'people' }, waiting.map((m) => h('li', null, h('span', { class: 'n', text: m.n }),
          btn('Admit', { t: 'admit', m: m.m }, 'small primary'), btn('Deny', { t: 'deny', m: m.m }, 'small danger'),
          h('button', { type: 'button', class: 'small', text: 'Message', 'data-k': `dm:${m.m}`, onclick: () => view.openThread(m.m) }))))
          : h('p', { class: 'hint', text: 'Nobody is waiting.' }),
        waiting.length > 1 ? btn('Admit everyone', { t: 'admit_all' }, 'primary') : null,
        lobbyForm,
      ];
    });

    put('hands', JSON.stringify([r.hands, r.floor && r.floor.m]), r.hands.length, () => [
      r.floor ? h('p', null, `${r.floor.n} has the floor. `, btn('End share', { t: 'floor_end' })) : null,
      r.hands.length
        ? h('ol', { class: 'queue' }, r.hands.map((m) => h('li', null, `${r.name(m)} `, btn('Give the floor', { t: 'floor', m }))))
        : h('p', { class: 'hint', text: 'No hands raised.' }),
      r.hands.length ? btn('Next hand', { t: 'floor', m: null }, 'primary') : null,
    ]);

    const holds = [...r.holds.values()];
    put('holds', JSON.stringify(holds.map((x) => x.h)), holds.length, () => holds.length
      ? h('ul', { class: 'res' }, holds.map((x) => h('li', null,
        h('p', null, h('strong', { text: x.n }), h('span', { class: 'hint', text: ` · ${(x.why || []).join(', ')}` })),
        h('p', { class: 'x', text: x.x }),
        h('p', { class: 'row' }, btn('Approve', { t: 'review', h: x.h, ok: true }, 'small primary'),
          // Held only because its sender is new: approve it, and let their next ones through.
          (x.why || []).length === 1 && x.why[0] === 'newcomer.cooldown' && r.members.has(x.m)
            ? h('button', { type: 'button', class: 'small', text: `Approve and trust ${x.n}`, onclick: () => { send({ t: 'trust', m: x.m }); send({ t: 'review', h: x.h, ok: true }); } })
            : null,
          btn('Reject', { t: 'review', h: x.h, ok: false }, 'small danger')))))
      : h('p', { class: 'hint', text: 'Nothing to review.' }));

    put('alerts', String(alerts.length) + alerts.map((a) => a.s).join(), alerts.length, () => alerts.length
      ? h('ul', { class: 'res' }, alerts.map((a) => h('li', null,
        h('p', null, h('strong', { text: a.n }), ` may be in crisis (${a.kind}). ${view.room && view.room.members.has(a.m) ? 'They were shown crisis resources privately.' : 'They have left the meeting.'}`),
        a.hint ? h('p', null, h('em', { text: 'What to do (for you, not for the room): ' }), a.hint) : null,
        h('p', { class: 'row' },
          view.room && view.room.members.has(a.m) ? h('button', { type: 'button', class: 'small primary', text: `Write to ${a.n} privately`, onclick: () => view.openThread(a.m) }) : null,
          h('button', { type: 'button', class: 'small', text: 'Dismiss', onclick: () => { alerts.splice(alerts.indexOf(a), 1); view.refreshTools(); } })))))
      : h('p', { class: 'hint', text: 'No alerts.' }));

    // Threads in the order they began; re-filled only when one begins or a member comes or
    // goes.
    for (const t of threads.values()) label(t);
    const list = [...threads.values()];
    const unread = list.reduce((n, t) => n + t.unread, 0);
    put('private', JSON.stringify(list.map((t) => [t.m, r.members.has(t.m)])), unread || null, () => list.length
      ? list.map((t) => t.box)
      : h('p', { class: 'hint', text: 'No private messages. "Message privately" on a member writes to them; only they and the facilitators see it.' }));

    put('reports', String(reports.length) + reports.map((x) => x.s).join(), reports.length, () => reports.length
      ? h('ul', { class: 'res' }, reports.map((x) => h('li', null,
        h('p', null, `About ${r.name(x.m)}${x.to ? ' (a message)' : ''}`, x.why ? `: ${x.why}` : ''),
        h('p', { class: 'row' },
          r.members.has(x.m) ? btn('Mute', { t: 'mute', m: x.m, on: true }) : null,
          r.members.has(x.m) ? btn('Remove', { t: 'remove', m: x.m, ban: false }, 'small danger') : null,
          h('button', { type: 'button', class: 'small', text: 'Dismiss', onclick: () => { reports.splice(reports.indexOf(x), 1); view.refreshTools(); } })))))
      : h('p', { class: 'hint', text: 'No reports.' }));
  });
}
