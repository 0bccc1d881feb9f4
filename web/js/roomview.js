// The room on screen: lobby, message stream, floor and timer, hands, people, notices.
// Everything a member typed or named is rendered as text (textContent / Text nodes).
import { $, h, fill, clock } from './dom.js';
import { Link } from './connection.js';
import { Room, STATEFUL } from './room.js';
import { openHelp } from './shell.js';

const REACTIONS = { heart: '❤️', clap: '👏', hug: '🤗', thanks: '🙏', strength: '💪' };
const REACTION_NAMES = { heart: 'Heart', clap: 'Applause', hug: 'Hug', thanks: 'Thank you', strength: 'Strength' };
const MAX_ITEMS = 400; // cheap phones: keep the stream's DOM bounded
const SLIP_REFRESH_MS = 5 * 60 * 1000; // a proof of attendance, once asked for, kept this fresh
const OFFSET_KEEP_MS = 5 * 60 * 1000; // clock samples kept (see #clock)
const NOTICES = {
  held: 'Your message is waiting for a facilitator to review it.',
  rejected: 'A facilitator did not approve your last message.',
  report_received: 'Thank you. The facilitators have your report; they will not say who sent it.',
};
const ENDINGS = {
  ended: 'The meeting has ended. Thank you for being here.',
  left: 'You left the meeting. Take care of yourself.',
  removed: 'A facilitator removed you from this meeting.',
  revoked: 'You were signed out of this meeting: your account was disabled or its password was changed. Log in again to come back.',
  banned: 'You cannot rejoin this meeting.',
  denied: 'A facilitator did not let you in this time.',
  replaced: 'This meeting is now open in another tab or on another device.',
  rejoin: 'You are no longer in this meeting (you were away for a while, or the server restarted). You can join it again.',
  full: 'This meeting is full right now.',
  locked: 'This meeting is not taking new members right now.',
  name_taken: 'Someone in this meeting already uses that name. Choose another.',
  policy: 'The connection was closed.',
  protocol: 'The connection was closed.',
};

export class RoomView {
  /** opts: meetingId, detail (public meeting detail), getTicket, onEnd(reason, code) */
  constructor(root, opts) {
    this.root = root;
    this.o = opts;
    this.detail = opts.detail || { readings: [] };
    this.room = null;
    this.offset = 0; // server clock minus ours (from live events' `at`)
    this.offsets = []; // recent [our time, sample] pairs: `offset` is the largest
    this.rx = new Map(); // seq -> {reaction: count}
    this.hooks = [];
    this.raw = [];
    this.early = []; // alerts and reports that came before the facilitator tools loaded
    this.warnings = []; // privacy warnings waiting for an answer, oldest first
    this.conn = $('#conn');
    this.#build();
    this.link = new Link({
      meetingId: opts.meetingId,
      getTicket: opts.getTicket,
      onWelcome: (w, info) => this.#welcome(w, info),
      onEvent: (e, replayed) => this.#event(e, replayed),
      onDirect: (f, item) => this.#direct(f, item),
      onState: (s, d) => this.#state(s, d),
      onOutbox: (items) => this.#outbox(items),
      onEnd: (reason, code, detail) => this.#end(reason, code, detail),
    });
    this.tick = setInterval(() => this.#timer(), 1000);
  }

  start() {
    this.link.start();
    // What was typed while away and never went out (the resume came too late): back in the
    // message box, in memory only, for its writer to send again or not.
    if (this.o.draft) {
      this.el.text.value = this.o.draft;
      this.status('What you wrote while you were away was not sent. It is in the message box: send it if you still want to.');
    }
  }

  /** Called after every change (facilitator tools re-render themselves from it). */
  onChange(fn) { this.hooks.push(fn); }

  /** Called with every event as it arrives, before rendering. */
  onRaw(fn) { this.raw.push(fn); }

  refreshTools() { for (const fn of this.hooks) fn(this.room); }

  /** A private message: to member `to` (facilitators), or to the facilitators (`to` null). */
  dm(x, to = null) {
    this.link.say(x, false, undefined, { to });
    return true;
  }

  send(frame) {
    if (this.link.send(frame)) return true;
    this.status('Not connected: try again in a moment.');
    return false;
  }

  /** A command on this member's own state, sent again after a resume if it was lost with a
   * link that looked open (Link.command). */
  #command(frame, done) {
    if (this.link.command(frame, done)) return true;
    this.status('Not connected: try again in a moment.');
    return false;
  }

  status(text) {
    this.el.status.textContent = '';
    this.el.status.textContent = text;
  }

  // -- building -------------------------------------------------------------------------------

  #build() {
    const e = (this.el = {});
    e.title = h('h1', { text: this.detail.title || 'Meeting', tabindex: '-1' });
    e.lobby = h('section', { class: 'card', hidden: true, 'aria-labelledby': 'lobby-h' },
      h('h2', { id: 'lobby-h', text: 'Waiting room' }),
      (e.lobbyText = h('p', { text: 'A facilitator will let you in soon. You can leave this page open.' })),
      (e.lobbyMsgs = h('ul', { 'aria-live': 'polite' })));
    e.floor = h('section', { class: 'card floor', 'aria-label': 'Who is sharing' },
      (e.floorText = h('p', { text: 'Nobody is sharing right now.' })),
      (e.timer = h('span', { class: 'timer', role: 'timer', 'aria-live': 'off' })),
      (e.yield = h('button', { type: 'button', hidden: true, text: 'End my share', onclick: () => this.send({ t: 'yield' }) })));
    e.pin = h('details', { class: 'card pin', hidden: true, open: true },
      (e.pinTitle = h('summary')), (e.pinText = h('p')));
    e.care = h('section', { class: 'notice care', hidden: true, role: 'alert' });
    e.stream = h('ol', { class: 'stream', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Messages', tabindex: '0' });
    this.atEnd = true;
    e.stream.addEventListener('scroll', () => {
      const s = e.stream;
      this.atEnd = s.scrollHeight - s.scrollTop - s.clientHeight < 80;
    }, { passive: true });
    e.outbox = h('ul', { class: 'stream outbox', hidden: true, 'aria-label': 'Waiting to be sent' });
    e.warn = h('section', { class: 'notice', hidden: true, role: 'alert' });
    e.text = h('textarea', { id: 'say', name: 'say', rows: 2, maxlength: '2000', autocomplete: 'off', enterkeyhint: 'send' });
    e.composer = h('form', { class: 'composer', onsubmit: (ev) => { ev.preventDefault(); this.#say(); } },
      h('label', { for: 'say', text: 'Your message' }), e.text, h('button', { class: 'primary', text: 'Send' }));
    e.text.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); this.#say(); }
    });
    e.postHint = h('p', { class: 'hint' });
    e.status = h('p', { class: 'hint', role: 'status' });
    e.hand = h('button', { type: 'button', 'aria-pressed': 'false', onclick: () => {
      const up = !this.room.myHand();
      this.#command({ t: 'hand', up }, (f) => f.t === 'hand' && f.m === this.room.me && f.up === up);
    } }, 'Raise hand');
    e.queue = h('span', { class: 'hint' });
    e.slipBtn = h('button', { type: 'button', text: 'Proof of attendance', onclick: () => this.#slipDialog() });
    e.leave = h('button', { type: 'button', class: 'danger', text: 'Leave', onclick: () => this.leave() });
    e.count = h('span');
    e.people = h('ul', { class: 'people' });
    e.peopleBox = h('details', { class: 'card' }, h('summary', null, h('strong', null, e.count)), e.people);
    e.side = h('aside', { class: 'side', hidden: true, 'aria-label': 'Facilitator tools' });
    // A member's private line to the facilitators (docs/protocol.md, "Private messages"): in
    // the waiting room and in the room alike; facilitators have theirs in the tools.
    e.privText = h('textarea', { id: 'dm', name: 'dm', rows: 2, maxlength: '2000', autocomplete: 'off' });
    e.privList = h('ol', { class: 'stream thread', 'aria-live': 'polite', 'aria-label': 'Private messages' });
    e.privNew = h('span', { class: 'hint' });
    e.priv = h('details', { class: 'card priv' },
      h('summary', null, h('strong', { text: 'Private messages with the facilitators' }), ' ', e.privNew),
      h('p', { class: 'hint', text: 'Only the facilitators see these, never the other members. Ask a question, or tell them how you are doing.' }),
      e.privList,
      h('form', { class: 'composer', onsubmit: (ev) => { ev.preventDefault(); this.#sayPrivately(); } },
        h('label', { for: 'dm', text: 'Private message to the facilitators' }), e.privText, h('button', { text: 'Send privately' })));
    e.priv.addEventListener('toggle', () => { if (e.priv.open) e.privNew.textContent = ''; });
    e.main = h('div', { class: 'room' },
      e.floor, e.pin, e.stream, e.outbox, e.warn, e.composer, e.postHint, e.status,
      h('div', { class: 'tools' }, e.hand, e.queue, e.slipBtn, e.leave), e.peopleBox, e.side);
    e.main.hidden = true;
    e.lobby.append(h('p', { class: 'row' }, h('button', { type: 'button', class: 'danger', text: 'Leave', onclick: () => this.leave() })));
    e.end = h('section', { class: 'card', hidden: true, role: 'alert' });
    // The care card sits outside the room's view: it shows in the waiting room too, and stays
    // after the meeting ends or the person leaves.
    fill(this.root, e.title, e.care, e.lobby, e.main, e.end);
  }

  leave() {
    // One last slip up to now for whoever asked for one: its answer comes before the close.
    if (this.slipName != null && this.room && !this.room.lobby) this.link.send({ t: 'slip', name: this.slipName });
    this.link.leave();
  }

  // -- link callbacks ------------------------------------------------------------------------

  #welcome(w, { resumed, gap }) {
    const first = !this.room;
    if (w.max_text) this.el.text.maxLength = w.max_text; // the server's limit, not only 2,000
    // No longer a facilitator (demoted while the link was down): the tools' content goes.
    if (this.toolsLoaded && !['host', 'cofac'].includes(w.role)) this.dropTools?.();
    this.room = new Room(w);
    if (gap) this.#line('You may have missed some messages while you were away.', 'gap');
    if (first && !this.room.lobby) this.#line('You joined the meeting.');
    if (this.room.isFac) this.#loadTools();
    this.#render();
    if (first) this.el.title.focus(); // screen readers land on the room, phones get no keyboard
    // Only after a visible problem: a refresh after being admitted is not news.
    const wasDown = !this.conn.hidden && !this.conn.classList.contains('ok');
    if (wasDown) this.#connBanner(resumed && !gap ? 'Back online. You are up to date.' : '', true);
  }

  #event(e, replayed) {
    const r = this.room;
    if (!replayed && e.at) this.#clock(e.at);
    const wasFac = r.isFac;
    if (!(replayed && STATEFUL.has(e.t))) r.apply(e);
    // Demoted: what the tools held of people and their words (threads, alerts, reports) goes
    // with the role, before anything else is shown.
    if (wasFac && !r.isFac) this.dropTools?.();
    if (!this.raw.length && r.isFac && (e.t === 'alert' || e.t === 'report' || e.t === 'dm')) this.early.push([e, replayed]);
    for (const fn of this.raw) fn(e, replayed);
    this.#stream(e);
    // A new view of the room (admitted, promoted) arrives as a `room` frame right after.
    this.#soon();
  }

  #direct(f, item) {
    if (f.t === 'warn' && item) return this.#piiWarning(item, f.spans || []);
    if (f.t === 'dup') return;
    if (f.t === 'queue') { if (this.room) { this.room.queuePos = f.pos; this.#soon(); } return; }
    if (f.t === 'slip') return this.#slipShown(f);
    if (f.t === 'error' && !item && this.slip && Date.now() - this.slipAskedAt < 10000) {
      this.slipAskedAt = 0; // the answer to "Get my slip": said where it was asked
      this.slip.err.textContent = f.msg;
      return;
    }
    if (f.t === 'error') {
      if (f.code === 'slow_mode') return this.status(`Slow mode: your message goes out in ${Math.ceil(f.retry || 1)} s.`);
      if (f.code === 'rate_limited') return this.status('Sending a little more slowly…');
      this.status(item ? `Not sent: ${f.msg}` : f.msg);
      // Back in the box, each refused text (a queue resent after a drop can be refused whole,
      // say when a facilitator muted us meanwhile): never lost, never sent again unasked.
      const box = item && this.#boxFor(item);
      if (box && !box.value.includes(item.x)) box.value = box.value ? `${box.value}\n\n${item.x}` : item.x;
    }
  }

  #state(s, d) {
    if (s === 'live') return; // the welcome that follows says what happened
    const text = {
      connecting: this.room ? 'Reconnecting…' : 'Connecting…',
      retrying: 'Connection lost. Reconnecting… Messages you write will be sent when you are back.',
      offline: 'You are offline. Messages you write will be sent when you are back online.',
      closed: '',
    }[s];
    if (s === 'connecting' && d.attempt > 0) return; // keep the "lost" wording between tries
    this.#connBanner(text, false);
  }

  #connBanner(text, ok) {
    const c = this.conn;
    clearTimeout(this.connTimer);
    c.hidden = !text;
    c.classList.toggle('ok', !!ok);
    c.textContent = text;
    if (ok) this.connTimer = setTimeout(() => { c.hidden = true; }, 4000);
  }

  #outbox(items) {
    const box = this.el.outbox;
    box.hidden = !items.length;
    fill(box, items.map((i) => h('li', { class: 'queued' },
      h('p', { class: 'who' }, i.dm ? 'You, privately' : 'You', h('span', { class: 'st', text: i.sent ? 'sending…' : 'waiting to send' })),
      h('p', { class: 'x', text: i.x }))));
  }

  #end(reason, code, detail) {
    clearInterval(this.tick);
    this.el.main.hidden = this.el.lobby.hidden = true;
    const again = ['rejoin', 'full', 'locked', 'name_taken'].includes(reason);
    // Never sent: kept (in memory) for the person's next try at joining, if they may have one.
    // A private message is never put back in the room's message box: one Enter would send it
    // to everyone.
    const queued = [...this.link.outbox.values()];
    const unsent = again ? queued.filter((i) => !i.dm).map((i) => i.x) : [];
    const privateUnsent = queued.some((i) => i.dm);
    if (again && this.el.text.value.trim()) unsent.push(this.el.text.value.trim());
    // What was said and who was there leaves the page with the meeting (a shared phone).
    for (const list of [this.el.stream, this.el.outbox, this.el.lobbyMsgs, this.el.people, this.el.warn, this.el.privList, this.el.side]) fill(list);
    this.peopleSig = '';
    this.el.privText.value = '';
    this.el.priv.hidden = true;
    this.early = [];
    this.dropTools?.();
    clearInterval(this.slipTimer);
    // A slip already in hand stays for whoever asked for it when the meeting ends, they leave,
    // or their link was down past the resume window (`rejoin`: they join again as someone new,
    // and the slip of their time before is still theirs), until they clear it; any other
    // ending takes it. Kept, it can only be shown, printed or cleared: no longer asked again.
    const keepSlip = this.slip && !this.slip.sheet.hidden && ['ended', 'left', 'rejoin'].includes(reason);
    if (this.slip && !keepSlip) this.#clearSlip();
    if (keepSlip) {
      const dlg = this.slip.dlg;
      dlg.querySelector('form:not([method])')?.remove();
      // A next stay's slip dialog takes the ids.
      dlg.querySelector('#slip-h')?.setAttribute('id', 'slip-h-kept');
      dlg.setAttribute('aria-labelledby', 'slip-h-kept');
    }
    const kept = keepSlip ? { show: () => this.slip?.dlg.showModal(), clear: () => this.#clearSlip() } : null;
    this.warnings = [];
    this.#connBanner('');
    let text = detail || ENDINGS[reason] || 'The connection was closed.';
    if (unsent.length) text += ' What you wrote while you were away was not sent; it will be back in the message box when you join again under the same name.';
    if (privateUnsent) text += ' A private message you wrote was not sent.';
    fill(this.el.end,
      h('h2', { text: reason === 'ended' ? 'Meeting ended' : 'You are not in the meeting' }),
      h('p', { text }),
      keepSlip ? h('p', { class: 'row' },
        h('button', { type: 'button', class: 'primary', text: 'Show my proof of attendance', onclick: () => this.slip?.dlg.showModal() }),
        h('button', { type: 'button', text: 'Clear it from this phone', onclick: (ev) => { this.#clearSlip(); ev.target.parentNode.remove(); } })) : null,
      h('p', { class: 'row' }, h('a', { class: 'btn', href: '/', text: 'Find another meeting' })));
    this.el.end.hidden = false;
    this.o.onEnd?.(reason, code, again, text, unsent.join('\n\n'), kept);
  }

  // -- sending -------------------------------------------------------------------------------

  #say(ok = false, text = null) {
    const x = (text ?? this.el.text.value).trim();
    if (!x) return;
    if (text === null) this.el.text.value = '';
    this.link.say(x, ok);
  }

  #sayPrivately() {
    const x = this.el.privText.value.trim();
    if (!x) return;
    this.el.privText.value = '';
    this.dm(x);
  }

  /** The box a queued item's text goes back to, by what it was written as (the writer's
   * role may have changed since): the room's, a member's thread, or the member's own line to
   * the facilitators. Never the room's for a private message. */
  #boxFor(item) {
    if (!item.dm) return this.el.text;
    if (item.to) return this.threadBox ? this.threadBox(item.to) : null;
    return this.el.privText;
  }

  /** Privacy warnings, one message at a time: two queued messages warned at once both wait. */
  #piiWarning(item, spans) {
    this.warnings.push({ item, spans });
    if (this.warnings.length === 1) this.#showWarning();
  }

  #warningDone() {
    this.warnings.shift();
    this.#showWarning();
  }

  #showWarning() {
    const w = this.el.warn;
    if (!this.warnings.length) { w.hidden = true; return; }
    const { item, spans } = this.warnings[0];
    const parts = [];
    let at = 0;
    for (const [s, e] of spans.slice().sort((a, b) => a[0] - b[0])) {
      if (s < at) continue;
      parts.push(item.x.slice(at, s), h('mark', { text: item.x.slice(s, e) }));
      at = e;
    }
    parts.push(item.x.slice(at));
    fill(w,
      h('p', null, h('strong', { text: item.dm ? 'Your private message is not sent yet: this may identify you or someone else.' : 'Not sent yet: this may identify you or someone else.' })),
      h('p', { text: 'Phone numbers, addresses, full names or workplaces can follow you outside the meeting.' }),
      h('blockquote', { class: 'x' }, parts),
      h('p', { class: 'row' },
        h('button', { type: 'button', class: 'primary', text: 'Edit', onclick: () => {
          this.#warningDone();
          const box = this.#boxFor(item);
          if (!box) return;
          // What was typed since stays: the warned text comes first, to be edited.
          const draft = box.value.trim();
          box.value = draft && draft !== item.x ? `${item.x}\n\n${draft}` : item.x;
          box.focus();
          box.setSelectionRange(item.x.length, item.x.length);
        } }),
        h('button', { type: 'button', text: 'Send anyway', onclick: () => {
          this.#warningDone();
          this.link.say(item.x, true, undefined, item.dm ? { to: item.to } : null);
        } })));
    w.hidden = false;
  }

  // -- the stream ----------------------------------------------------------------------------

  #add(li) {
    const s = this.el.stream;
    s.append(li);
    while (s.childElementCount > MAX_ITEMS) {
      this.rx.delete(Number(s.firstElementChild.dataset.s)); // its reactions go with it
      s.firstElementChild.remove();
    }
    if (this.atEnd) this.scroll = true;
    this.#soon();
  }

  /** Render once per frame however many events came in it (a replay can bring dozens). */
  #soon() {
    if (this.pending) return;
    this.pending = true;
    const run = () => {
      this.pending = false;
      this.#render();
      if (this.scroll) { this.scroll = false; this.el.stream.scrollTop = this.el.stream.scrollHeight; }
    };
    if (document.hidden) setTimeout(run, 100); else requestAnimationFrame(run);
  }

  #line(text, cls = 'sys') { this.#add(h('li', { class: cls, text })); }

  #stream(e) {
    const r = this.room;
    const n = e.n || r.name(e.m);
    switch (e.t) {
      case 'msg': return this.#message(e);
      case 'react': return this.#react(e);
      case 'join': if (!e.lob && e.m !== r.me) this.#line(`${e.n} joined.`); return;
      case 'admit': if (e.m === r.me) this.#line('You are in. Welcome.'); else this.#line(`${n} joined.`); return;
      case 'leave': if (e.why !== 'denied') this.#line(`${n} left.`); return;
      case 'floor': return this.#line(e.m ? `${e.m === r.me ? 'You have' : e.n + ' has'} the floor.` : 'The share ended.');
      case 'floor_warn': return this.#line(e.m === r.me ? 'About 30 seconds left of your share.' : '30 seconds left of this share.');
      case 'floor_time': return this.#line(e.m === r.me ? 'Your share time is up: please finish your thought.' : 'The share time is up.');
      case 'pin': return this.#line(e.i == null ? 'The reading was unpinned.' : `Reading pinned: ${this.#reading(e.i).title}`);
      case 'lock': return this.#line(e.on ? 'The meeting is locked: no new members.' : 'The meeting is open to new members again.');
      case 'slow': return this.#line(e.secs ? `Slow mode: one message every ${e.secs} s.` : 'Slow mode is off.');
      case 'mute_all': return this.#line(e.on ? 'Only facilitators can post for now.' : 'Everyone can post again.');
      case 'mute': if (e.m === r.me) this.#line(e.on ? 'A facilitator muted you for now.' : 'You can post again.'); return;
      case 'role': return this.#line(`${n} is now ${e.r === 'host' ? 'the host' : e.r === 'cofac' ? 'a co-facilitator' : 'a member'}.`);
      case 'phase': return this.#line(e.p === 'live' ? 'The meeting has started.' : e.p === 'ended' ? 'The meeting has ended.' : 'The meeting is waiting to start.');
      case 'lobby_msg':
        if (r.lobby) {
          const list = this.el.lobbyMsgs;
          list.append(h('li', { text: `${e.n || r.name(e.m)}: ${e.x}` }));
          while (list.childElementCount > MAX_ITEMS) list.firstElementChild.remove();
        }
        else this.#line(`To the waiting room: ${e.x}`);
        return;
      case 'notice': if (NOTICES[e.code]) this.status(NOTICES[e.code]); return;
      case 'care': return this.#careCard(e.card || {});
      case 'dm': if (!r.isFac && e.m === r.me) this.#private(e); return;
      case 'block': if (e.on) for (const li of this.el.stream.querySelectorAll('li[data-m]')) if (li.dataset.m === e.m) li.remove(); return;
      default: return; // facilitator items (held, report, alert...) live in the tools panel
    }
  }

  #message(e) {
    const r = this.room;
    const mine = e.m === r.me;
    const li = h('li', { class: mine ? 'mine' : null, 'data-s': String(e.s), 'data-m': e.m });
    const more = h('button', { type: 'button', class: 'small', 'aria-expanded': 'false', 'aria-label': `Actions for the message from ${e.n}`, text: '⋯' });
    more.addEventListener('click', () => this.#actions(li, e, more));
    fill(li,
      h('p', { class: 'who' }, mine ? 'You' : e.n, h('time', { datetime: new Date(e.at).toISOString(), text: clock(e.at) }), more),
      h('p', { class: 'x', text: e.x }),
      e.red ? h('p', { class: 'hint', text: 'Some details were hidden to protect privacy.' }) : null,
      h('div', { class: 'rx' }));
    this.#add(li);
  }

  // -- proof of attendance (docs/api.md) ---------------------------------------------------

  #slipDialog() {
    if (!this.slip) {
      const name = h('input', { id: 'slip-name', maxlength: '80', autocomplete: 'off', 'aria-describedby': 'slip-hint' });
      const err = h('p', { class: 'err', role: 'alert' });
      const sheet = h('section', { class: 'slip-sheet', hidden: true, 'aria-live': 'polite' });
      const dlg = h('dialog', { class: 'slip', 'aria-labelledby': 'slip-h' },
        h('h2', { id: 'slip-h', text: 'Proof of attendance' }),
        h('p', { text: 'For a court, a probation officer or a treatment program: a slip that says you were in this meeting, from when you came into the room until now. Once you have it, it is brought up to date every few minutes and when you leave, and it stays on this page when the meeting ends. Nobody in the meeting sees it, and the server keeps no record of it.' }),
        h('form', { onsubmit: (ev) => {
          ev.preventDefault();
          err.textContent = '';
          if (!this.link.send({ t: 'slip', name: name.value.trim() })) {
            err.textContent = 'Not connected: try again in a moment.';
            return;
          }
          this.slipAskedAt = Date.now();
          this.slipPending = name.value.trim();
        } },
        h('label', { for: 'slip-name', text: 'Name to print on the slip' }), name,
        h('p', { id: 'slip-hint', class: 'hint', text: 'Your full name if they need it. Left empty, the slip carries the name you use here.' }),
        err,
        h('button', { class: 'primary', text: 'Get my slip' })),
        sheet,
        h('form', { method: 'dialog' }, h('button', { text: 'Close' })));
      document.body.append(dlg);
      this.slip = { dlg, name, err, sheet };
    }
    this.slip.dlg.showModal();
  }

  #slipShown(f) {
    this.slipAskedAt = 0;
    if (!this.slip) return;
    if (this.slipPending != null) {
      // Given: from now on the slip is brought up to date every few minutes, quietly, so a
      // meeting that ends at once (or a phone that dies) still leaves one close to the end.
      this.slipName = this.slipPending;
      this.slipPending = null;
      clearInterval(this.slipTimer);
      this.slipTimer = setInterval(() => {
        if (this.room && !this.room.lobby && this.room.phase === 'live') this.link.send({ t: 'slip', name: this.slipName });
      }, SLIP_REFRESH_MS);
    }
    const day = new Date(f.entered).toLocaleDateString([], { dateStyle: 'full' });
    const time = (ms) => new Date(ms).toLocaleTimeString([], { timeStyle: 'short' });
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
    const rows = [
      ['Name', f.name], ['Meeting', f.title], ['Date', day],
      ['In the meeting', `${time(f.entered)} to ${time(f.until)} (${zone}): ${f.minutes} minute${f.minutes === 1 ? '' : 's'}`],
      ['Code', f.code],
    ];
    const sheet = this.slip.sheet;
    fill(sheet,
      h('h3', { text: 'Attendance slip' }),
      h('dl', null, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { class: k === 'Code' ? 'code' : null, text: v })])),
      h('p', { text: `To check it: ${location.origin}/verify, with the code and the name exactly as above.` }),
      h('p', { class: 'row' }, h('button', { type: 'button', class: 'primary', text: 'Print or save as PDF', onclick: () => this.#printSlip() })));
    sheet.hidden = false;
    if (this.slip.dlg.open) sheet.scrollIntoView({ block: 'nearest' });
  }

  /** Take the slip off the page (a shared phone): the dialog, any print copy, the name. */
  #clearSlip() {
    clearInterval(this.slipTimer);
    this.slipName = this.slipPending = null;
    document.getElementById('print-slip')?.remove();
    document.getElementById('print-slip-page')?.remove();
    document.body.classList.remove('printing');
    if (!this.slip) return;
    this.slip.dlg.close();
    this.slip.dlg.remove();
    this.slip = null;
  }

  /** Print the slip alone: a copy outside the dialog, removed once printing is done. */
  #printSlip() {
    document.getElementById('print-slip')?.remove();
    const copy = h('section', { id: 'print-slip' }, [...this.slip.sheet.children].filter((c) => c.tagName !== 'P' || !c.querySelector('button')).map((c) => c.cloneNode(true)));
    document.body.append(copy);
    document.body.classList.add('printing');
    // No header or footer on the paper (the page's address stays off it): a page rule that
    // only this print loads, as the policy allows no inline style.
    const page = h('link', { id: 'print-slip-page', rel: 'stylesheet', href: '/css/print-slip.css' });
    const done = () => { document.body.classList.remove('printing'); copy.remove(); page.remove(); };
    addEventListener('afterprint', done, { once: true });
    page.addEventListener('load', () => window.print(), { once: true });
    page.addEventListener('error', () => window.print(), { once: true });
    document.head.append(page);
  }

  /** A private message in this member's thread with the facilitators. */
  #private(e) {
    const r = this.room;
    const mine = e.w === r.me;
    const list = this.el.privList;
    list.append(h('li', { class: mine ? 'mine' : null },
      h('p', { class: 'who' }, mine ? 'You' : `${e.n} (facilitator)`, h('time', { datetime: new Date(e.at).toISOString(), text: clock(e.at) })),
      h('p', { class: 'x', text: e.x })));
    while (list.childElementCount > MAX_ITEMS) list.firstElementChild.remove();
    list.scrollTop = list.scrollHeight;
    if (mine) return;
    if (!this.el.priv.open) {
      this.el.priv.open = true; // a facilitator reaching out is not left in a closed box
      this.el.privNew.textContent = '(new)';
    }
    this.status(`${e.n} (facilitator) wrote to you privately.`);
  }

  #actions(li, e, btn) {
    const open = li.querySelector('.acts');
    if (open) { open.remove(); btn.setAttribute('aria-expanded', 'false'); return; }
    btn.setAttribute('aria-expanded', 'true');
    const r = this.room;
    const row = h('div', { class: 'acts' },
      Object.entries(REACTIONS).map(([k, icon]) => h('button', {
        type: 'button', class: 'small', 'aria-label': `React: ${REACTION_NAMES[k]}`, text: icon,
        onclick: () => { this.send({ t: 'react', to: e.s, r: k }); row.remove(); btn.setAttribute('aria-expanded', 'false'); },
      })));
    if (e.m !== r.me) {
      row.append(
        h('button', { type: 'button', class: 'small', text: 'Report', onclick: () => {
          fill(row, h('span', { text: 'Report this message to the facilitators?' }),
            h('button', { type: 'button', class: 'small danger', text: 'Report', onclick: () => {
              this.#command({ t: 'report', m: e.m, to: e.s }, (f) => f.t === 'notice' && f.code === 'report_received');
              row.remove();
            } }),
            h('button', { type: 'button', class: 'small', text: 'Cancel', onclick: () => row.remove() }));
        } }),
        h('button', { type: 'button', class: 'small', text: `Block ${e.n}`, onclick: () => this.#command({ t: 'block', m: e.m }, (f) => f.t === 'block' && f.m === e.m && f.on) }));
      if (r.isFac && this.messageTools) row.append(...this.messageTools(e));
    }
    li.append(row);
    row.firstElementChild.focus();
  }

  #react(e) {
    const li = this.el.stream.querySelector(`li[data-s="${e.to}"]`);
    if (!li) return; // a message no longer shown (or never: a blocked member's)
    const counts = this.rx.get(e.to) || {};
    counts[e.r] = (counts[e.r] || 0) + 1;
    this.rx.set(e.to, counts);
    fill(li.querySelector('.rx'), Object.entries(counts).map(([k, c]) =>
      h('span', null, h('span', { 'aria-hidden': 'true', text: REACTIONS[k] }), h('span', { class: 'sr', text: REACTION_NAMES[k] }), ` ${c}`)));
  }

  #careCard(card) {
    const c = this.el.care;
    fill(c,
      h('h2', { text: card.title || 'You are not alone' }),
      h('p', { text: card.intro || card.message || 'What you wrote sounds hard. If you are in danger, please reach out now: people are ready to help, any time.' }),
      h('p', { class: 'row' },
        h('button', { type: 'button', class: 'help', text: 'See who you can call', onclick: () => openHelp(card) }),
        h('button', { type: 'button', text: 'Close', onclick: () => { c.hidden = true; } })),
      h('p', { class: 'hint', text: 'Only you can see this. A facilitator has been told, so someone here can check in with you.' }));
    c.hidden = false;
  }

  #reading(i) { return (this.detail.readings || [])[i] || { title: `Reading ${i + 1}`, text: '' }; }

  // -- rendering the rest --------------------------------------------------------------------

  #render() {
    const r = this.room;
    const e = this.el;
    e.lobby.hidden = !r.lobby;
    e.main.hidden = r.lobby;
    e.main.classList.toggle('fac', r.isFac);
    e.side.hidden = !r.isFac;
    e.priv.hidden = r.isFac;
    // The private panel, and what answers a private message (the status line, a privacy
    // warning, the queue waiting to be sent), go where the member is: the waiting room or the
    // room.
    const home = r.lobby ? e.lobby : e.main;
    if (e.priv.parentNode !== home) {
      if (r.lobby) e.lobby.append(e.status, e.warn, e.outbox, e.priv);
      else {
        e.stream.after(e.outbox);
        e.outbox.after(e.warn);
        e.postHint.after(e.status);
        e.main.insertBefore(e.priv, e.peopleBox);
      }
    }
    if (r.lobby) {
      e.lobbyText.textContent = r.phase === 'waiting'
        ? 'The meeting has not started yet. A facilitator will let you in when it starts.'
        : 'A facilitator will let you in soon. You can leave this page open.';
    }
    // the floor
    const f = r.floor;
    e.floorText.textContent = f ? (f.m === r.me ? 'You have the floor. Take your time.' : `${f.n} has the floor.`) : 'Nobody is sharing right now.';
    e.yield.hidden = !(f && f.m === r.me);
    this.#timer();
    // the pinned reading
    e.pin.hidden = r.pin == null;
    if (r.pin != null) {
      const rd = this.#reading(r.pin);
      e.pinTitle.textContent = `Reading: ${rd.title}`;
      e.pinText.textContent = rd.text;
    }
    // posting
    const can = r.canPost();
    e.text.disabled = !can;
    e.postHint.textContent = r.phase !== 'live' && !r.isFac ? 'The meeting has not started yet.'
      : r.muted ? 'A facilitator muted you for now. You can still listen and raise your hand.'
        : r.mutedAll || r.chat !== 'open' ? (r.isFac ? 'Only facilitators can post right now.' : 'Only facilitators can post right now. You can raise your hand.')
          : r.slow ? `Slow mode: one message every ${r.slow} s.` : '';
    // hand and queue
    const up = r.myHand();
    e.hand.textContent = up ? 'Lower hand' : 'Raise hand';
    e.hand.setAttribute('aria-pressed', String(up));
    e.hand.hidden = r.phase !== 'live' || (f && f.m === r.me);
    e.slipBtn.hidden = r.isFac; // a facilitator runs the meeting; a slip is for who attends
    const pos = r.position();
    e.queue.textContent = up || pos ? (pos ? `Your hand is up: ${ordinal(pos)} in line.` : 'Your hand is up.') : '';
    // people
    const people = r.admitted();
    e.count.textContent = `People here (${r.peopleCount()})`;
    // Built again only when what it shows changed: not for every chat line (a busy meeting on
    // a slow phone would spend its time here), and a tap under way on "Mute" is not lost to a
    // list rebuilt between the finger going down and up.
    const sig = JSON.stringify([r.me, r.role, r.isFac, !!this.memberTools,
      people.map((m) => [m.m, m.n, m.r, !!m.hand, !!m.muted, !!m.away, r.blocks.has(m.m)])]);
    if (sig !== this.peopleSig) {
      this.peopleSig = sig;
      const focus = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.k;
      fill(e.people, people.map((m) => this.#person(m)));
      if (focus) e.people.querySelector(`[data-k="${CSS.escape(focus)}"]`)?.focus();
    }
    for (const fn of this.hooks) fn(r);
  }

  #person(m) {
    const r = this.room;
    const tags = [];
    if (m.r === 'host') tags.push('host');
    if (m.r === 'cofac') tags.push('co-facilitator');
    if (m.m === r.me) tags.push('you');
    if (m.hand) tags.push('hand up');
    if (m.muted) tags.push('muted');
    if (m.away) tags.push('connection lost');
    const li = h('li', null, h('span', { class: 'n', text: m.n }), tags.length ? h('span', { class: 'hint', text: tags.join(', ') }) : null);
    if (m.m !== r.me && r.blocks.has(m.m)) {
      li.append(h('button', { type: 'button', class: 'small', text: 'Unblock', onclick: () => this.#command({ t: 'unblock', m: m.m }, (f) => f.t === 'block' && f.m === m.m && !f.on) }));
    }
    if (r.isFac && this.memberTools && m.m !== r.me) li.append(...this.memberTools(m));
    return li;
  }

  /** Each live event's `at` less our clock when it arrived is the server's clock minus ours,
   * less that event's delay: never more than the truth. So the largest sample of the last few
   * minutes is the best guess, and a frame that waited in a stalled link (or in a frozen tab)
   * does not move a share's timer. Older samples go, in case either clock was set. */
  #clock(at) {
    const now = Date.now();
    this.offsets.push([now, at - now]);
    while (this.offsets.length > 1 && (now - this.offsets[0][0] > OFFSET_KEEP_MS || this.offsets.length > 64)) this.offsets.shift();
    this.offset = Math.max(...this.offsets.map((o) => o[1]));
  }

  #timer() {
    const f = this.room && this.room.floor;
    const t = this.el.timer;
    if (!f || !f.until) { t.textContent = f && this.room.floor.until === null && this.room.warned ? 'time is up' : ''; return; }
    const left = Math.max(0, Math.round((f.until - (Date.now() + this.offset)) / 1000));
    t.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left`;
  }

  async #loadTools() {
    if (this.toolsLoaded) return;
    this.toolsLoaded = true;
    const { facilitate } = await import('./facilitate.js');
    facilitate(this);
    this.#render();
  }
}

function ordinal(n) {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' }[n % 10] || 'th');
  return n + s;
}
