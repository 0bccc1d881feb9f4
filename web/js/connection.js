// One member's link to a room (docs/protocol.md), built for phones on bad connections.
//
// - Reconnects with exponential backoff and full jitter, then resumes with the token, the
//   epoch and the last seq seen, so the server replays exactly what was missed.
// - Notices a dead link itself: a WebSocket on a dropped mobile link can look open for
//   minutes, so an idle link is pinged ({"t":"ping"}) and declared dead without a pong.
//   Coming back to the tab (phone unlocked, tab woken) checks the link at once.
// - An outbox keeps every message (and private message) until its own `msg` (`dm`) event,
//   same cid, comes back, or the server says `dup`; after a resume the rest are sent again, a
//   few at a time, and the whole queue waits when the server says `retry`. Text lives in
//   memory only.
// - Storage: the resume token (sessionStorage, this tab only, under a key that names the
//   meeting; removed when the link ends) and one random device token (localStorage, so a ban
//   survives a change of name). Never message text or names. A tab that comes back to the
//   meeting other than by a reload asks before it resumes (meeting.js: a shared phone).

const BASE_MS = 1000;
const CAP_MS = 8000;
const OPEN_MS = 10000; // a connection attempt must reach `welcome` within this
const IDLE_MS = 15000; // ping a link this quiet...
const PONG_MS = 5000; // ...and give up on it if nothing comes back in this long
const ACK_MS = 6000; // a message not seen back in this long makes us check the link
const STABLE_MS = 30000; // live this long, a link's next drop is retried at once again
// Messages go out within the server's limit, counted here too (the `welcome` says it: `rate`,
// n messages in s seconds; 5 in 5 s unless the server was set otherwise). A queue resent after
// a reconnect, or a burst typed on a slow link, waits here rather than being refused there,
// where each refusal counts towards closing the link (1008) and losing the queue.
const RATE = [5, 5];
const RATE_MARGIN_MS = 300; // frames sent this far apart can still arrive closer together
const COMMAND_KEEP_MS = 60000; // an unconfirmed command older than this is not sent again

// Close codes after which resuming is pointless (docs/protocol.md); the rest are retried.
const FINAL = {
  1000: 'left', 1008: 'policy', 4000: 'protocol', 4003: 'rejoin', 4004: 'ended',
  4005: 'replaced', 4010: 'removed', 4011: 'banned', 4012: 'full', 4014: 'denied',
  4015: 'locked', 4016: 'name_taken',
};
const TICKET_CODES = new Set([4001, 4002]);
// Refusals of one message that will not change by sending it again.
const DROP_ERRORS = new Set(['muted', 'chat_closed', 'not_live', 'blocked', 'review_full', 'too_long', 'in_lobby', 'not_member', 'ended', 'invalid', 'bad_frame', 'no_facilitator', 'no_such_member', 'not_allowed', 'self_target']);

export function randomId(bytes = 12) {
  const a = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...a)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The random token this browser keeps (lets a ban outlive a new name). One for every meeting:
 * the server binds it to each meeting by hashing the two together, and a key per meeting
 * would leave on a shared phone a list of the meetings someone joined. Keys of that older
 * form are removed.
 */
export function deviceToken() {
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const k = localStorage.key(i);
    if (k && k.startsWith('haven.dev.')) localStorage.removeItem(k);
  }
  let t = localStorage.getItem('haven.dev');
  if (!t) { t = randomId(18); localStorage.setItem('haven.dev', t); }
  return t;
}

export class Link {
  /**
   * opts: meetingId, getTicket() -> Promise<ticket>, and callbacks:
   * onWelcome(welcome, {resumed, gap}), onEvent(event, replayed), onDirect(frame),
   * onState(state, detail) with state connecting|live|retrying|offline|closed,
   * onOutbox(items), onEnd(reason, code).
   */
  constructor(opts) {
    this.o = opts;
    this.ws = null;
    this.spare = null;
    this.state = 'idle';
    this.lastSeq = 0;
    this.snapSeq = 0;
    this.attempt = 0;
    this.lastRx = 0;
    this.pingAt = 0;
    this.welcomed = false;
    this.outbox = new Map();
    this.timer = 0;
    this.flushTimer = 0;
    this.liveSince = 0;
    this.pauseUntil = 0; // no message goes out before this (the server said `retry`)
    this.rate = RATE;
    this.sends = []; // when our last few messages went out (at most `rate[0]`)
    this.pending = []; // commands not yet seen to take effect: {frame, done, at, resent}
    this.againFrom = null; // {ws, at}: a resume's ping is out; its pong ends the replay
    this.key = 'haven.r.' + opts.meetingId;
    const saved = sessionStorage.getItem(this.key);
    this.resume = saved ? JSON.parse(saved) : null; // {token, epoch, me}
    this.beat = setInterval(() => this.#heartbeat(), 2500);
    this.onVisible = () => { if (document.visibilityState === 'visible') this.check(); };
    this.onOnline = () => this.check(true);
    // The phone says it has no network: a socket cannot work either, so it is given up now
    // (the banner shows, the queue waits) rather than after a ping goes unanswered.
    this.onOffline = () => {
      if (this.state === 'live' && this.ws) this.#lost(this.ws);
      else if (this.state !== 'closed') this.#setState('offline');
    };
    document.addEventListener('visibilitychange', this.onVisible);
    addEventListener('pageshow', this.onVisible);
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
  }

  get canResume() { return !!this.resume; }

  start() { this.#connect(); }

  /** Send a command now; false when the link is down (commands are not queued, messages are). */
  send(frame) {
    if (this.state !== 'live' || !this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Send a command that changes this member's own state (a hand, a block, a report) and keep
   * it until `done(event)` holds for an event that comes back. A link that looked open may
   * already have been dead: after the next resume that replays what was missed, what the
   * replay did not show taking effect is sent once more. After a resume with a gap (a fresh
   * snapshot) nothing is: whether it took effect cannot be known, and a report is not
   * idempotent.
   */
  command(frame, done) {
    if (!this.send(frame)) return false;
    const now = Date.now();
    // One that changed nothing (a hand already up) has no event to answer it: it ages out.
    this.pending = this.pending.filter((c) => now - c.at < COMMAND_KEEP_MS);
    this.pending.push({ frame, done, at: now, resent: false });
    return true;
  }

  /**
   * Queue a message; it goes out now or after the next resume. Returns its cid. `dm`: a
   * private message ({to: member id}, or {to: null} from a member to the facilitators).
   */
  say(x, ok = false, cid = randomId(9), dm = null) {
    this.outbox.set(cid, { cid, x, ok, at: Date.now(), sent: false, dm: !!dm, to: dm ? dm.to : null });
    this.#flush(); // after any older one still waiting: in the order they were written
    this.#outboxChanged();
    return cid;
  }

  /** Forget a queued message (the person chose to edit it instead). */
  drop(cid) { if (this.outbox.delete(cid)) this.#outboxChanged(); }

  leave() {
    this.leaving = true;
    if (!this.send({ t: 'leave' })) this.#end('left', 1000);
  }

  /** Is the link alive? Called when the tab comes back, the network returns, or a send lags. */
  check(now) {
    if (this.state === 'live') {
      if (!this.pingAt) this.#ping();
    } else if (this.state === 'retrying' || this.state === 'offline') {
      if (now || document.visibilityState === 'visible') { this.attempt = 0; this.#connect(); }
    }
  }

  close() {
    clearInterval(this.beat);
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    document.removeEventListener('visibilitychange', this.onVisible);
    removeEventListener('pageshow', this.onVisible);
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    this.#abandon(this.ws);
    this.#abandon(this.spare);
    this.ws = this.spare = null;
  }

  // -- internals ---------------------------------------------------------------------------

  async #connect() {
    clearTimeout(this.timer);
    if (this.state === 'closed') return;
    this.#abandon(this.ws);
    this.ws = null;
    this.#setState('connecting', { attempt: this.attempt });
    let opening;
    if (this.resume) {
      opening = { t: 'resume', v: 1, token: this.resume.token, after: this.lastSeq, epoch: this.resume.epoch };
    } else {
      let ticket;
      try { ticket = await this.o.getTicket(); } catch (err) {
        if (err && err.final) return this.#end(err.final, 0, err.message);
        return this.#retry();
      }
      if (this.state === 'closed') return;
      opening = { t: 'hello', v: 1, ticket };
    }
    this.ws = this.#open(opening);
  }

  #open(opening) {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws;
    try { ws = new WebSocket(`${proto}//${location.host}/ws`); } catch { this.#retry(); return null; }
    ws.welcomeTimer = setTimeout(() => this.#lost(ws), OPEN_MS);
    ws.onopen = () => ws.send(JSON.stringify(opening));
    ws.onmessage = (m) => this.#frame(ws, m.data);
    ws.onclose = (c) => this.#closed(ws, c.code, c.reason);
    return ws;
  }

  #abandon(ws) {
    if (!ws) return;
    clearTimeout(ws.welcomeTimer);
    ws.onopen = ws.onmessage = ws.onclose = null;
    try { ws.close(1000); } catch { /* already closed */ }
  }

  #frame(ws, raw) {
    let f;
    try { f = JSON.parse(raw); } catch { return; }
    this.lastRx = Date.now();
    this.pingAt = 0;
    if (f.t === 'welcome') return this.#welcome(ws, f);
    if (ws !== this.ws) return; // a spare socket's frames count only after its welcome
    if (typeof f.s === 'number') return this.#event(f);
    if (f.t === 'room') return this.#view(f);
    this.#direct(f);
  }

  /** The server's fresh snapshot after our view changed (admitted, promoted, sent back). */
  #view(f) {
    this.snapSeq = f.seq;
    this.lastSeq = Math.max(this.lastSeq, f.seq);
    this.o.onWelcome({ ...f, t: 'welcome', me: this.resume.me, replay: false }, { resumed: true, gap: false });
  }

  #welcome(ws, w) {
    clearTimeout(ws.welcomeTimer);
    const resumed = this.welcomed;
    if (ws === this.spare) {
      this.#abandon(this.ws);
      this.ws = ws;
      this.spare = null;
    } else if (ws !== this.ws) {
      return;
    }
    const gap = resumed && !w.replay;
    this.resume = { token: w.token, epoch: w.epoch, me: w.me };
    sessionStorage.setItem(this.key, JSON.stringify(this.resume));
    this.snapSeq = w.seq;
    if (!w.replay) this.lastSeq = w.seq; // else the replay follows from our own lastSeq
    this.welcomed = true;
    if (Array.isArray(w.rate) && w.rate[0] > 0 && w.rate[1] > 0) this.rate = w.rate;
    this.liveSince = Date.now(); // the backoff starts over once the link has held a while
    this.#setState('live');
    this.o.onWelcome(w, { resumed, gap });
    // Resend what is still waiting. The replay that follows may show some went out already:
    // those are dropped when their event arrives, and a resend that crossed it gets `dup`.
    setTimeout(() => this.#flush(), 300);
    // Commands: only once the whole replay is in, which on a slow link can take many seconds.
    // The server sends the replay before it reads anything, so the answer to a ping sent now
    // comes after the replay's last event.
    this.againFrom = null;
    if (!resumed || !this.pending.length) return;
    if (gap) { this.pending = []; return; }
    this.againFrom = { ws, at: Date.now() };
    this.send({ t: 'ping' });
  }

  #event(e) {
    if (e.s <= this.lastSeq) return; // already seen (overlap between two sockets)
    this.lastSeq = e.s;
    if (this.pending.length) {
      const i = this.pending.findIndex((c) => c.done(e)); // one event answers one command
      if (i >= 0) this.pending.splice(i, 1);
    }
    if ((e.t === 'msg' && e.m === this.resume.me) || (e.t === 'dm' && e.w === this.resume.me) || (e.t === 'notice' && e.cid)) {
      if (this.outbox.delete(e.cid)) this.#outboxChanged();
    }
    this.o.onEvent(e, e.s <= this.snapSeq);
  }

  #direct(f) {
    if (f.t === 'pong') { if (this.againFrom) this.#again(); return; }
    const item = f.cid && this.outbox.get(f.cid);
    if (f.t === 'dup' || f.t === 'warn') {
      if (this.outbox.delete(f.cid)) this.#outboxChanged();
    } else if (f.t === 'error' && item) {
      if ((f.code === 'rate_limited' || f.code === 'slow_mode') && f.retry != null) {
        // The whole queue waits, not only this message: the limit is the member's.
        item.sent = false;
        this.pauseUntil = Math.max(this.pauseUntil, Date.now() + Math.max(500, f.retry * 1000 + 100));
        this.#flush();
        this.#outboxChanged();
        if (f.code === 'rate_limited') return;
      } else if (DROP_ERRORS.has(f.code)) {
        this.outbox.delete(f.cid);
        this.#outboxChanged();
      }
    }
    this.o.onDirect(f, item || null);
  }

  /** The resume's replay is in: the commands sent before it (on the link that died) that the
   * replay did not show taking effect, once more. Those sent since went on the new link. */
  #again() {
    const { ws, at } = this.againFrom;
    this.againFrom = null;
    if (ws !== this.ws) return; // that link is gone too: the next resume asks again
    const now = Date.now();
    const kept = [];
    for (const c of this.pending) {
      if (c.at >= at) { kept.push(c); continue; }
      if (c.resent || now - c.at >= COMMAND_KEEP_MS) continue; // not sent a third time
      if (this.send(c.frame)) c.resent = true;
      kept.push(c);
    }
    this.pending = kept;
  }

  /** Milliseconds until the next message may go out: the server's `retry`, or our own count
   * of the messages' limit. */
  #sendWait() {
    const now = Date.now();
    const [n, s] = this.rate;
    const k = this.sends.length - n;
    return Math.max(this.pauseUntil - now, k >= 0 ? this.sends[k] + s * 1000 + RATE_MARGIN_MS - now : 0);
  }

  #flush() {
    clearTimeout(this.flushTimer);
    for (const item of this.outbox.values()) {
      if (item.sent) continue;
      const wait = this.#sendWait();
      if (wait > 0) { this.flushTimer = setTimeout(() => this.#flush(), wait); return; }
      if (!this.#flushOne(item)) return; // the link is down: the next welcome flushes
    }
  }

  #flushOne(item) {
    if (!item || !this.outbox.has(item.cid)) return false;
    const frame = { t: item.dm ? 'dm' : 'say', cid: item.cid, x: item.x };
    if (item.dm && item.to) frame.m = item.to;
    if (item.ok) frame.ok = true;
    if (!this.send(frame)) return false;
    item.sent = true;
    item.sentAt = Date.now();
    this.sends.push(item.sentAt);
    if (this.sends.length > this.rate[0]) this.sends.splice(0, this.sends.length - this.rate[0]);
    return true;
  }

  #outboxChanged() { this.o.onOutbox([...this.outbox.values()]); }

  #ping() {
    if (this.send({ t: 'ping' })) this.pingAt = Date.now();
  }

  #heartbeat() {
    if (this.state !== 'live') return;
    const now = Date.now();
    if (this.pingAt && now - this.pingAt > PONG_MS) return this.#lost(this.ws);
    if (this.pingAt) return;
    const lagging = [...this.outbox.values()].some((i) => i.sent && now - i.sentAt > ACK_MS && i.sentAt > this.lastRx);
    if (lagging || now - this.lastRx > IDLE_MS) this.#ping();
  }

  /** A socket that went quiet or never welcomed us: drop it without waiting for TCP. */
  #lost(ws) {
    if (ws === this.spare) { this.#abandon(ws); this.spare = null; if (!this.ws) this.#retry(); return; }
    if (ws !== this.ws) return;
    this.#abandon(ws);
    this.ws = null;
    this.#retry();
  }

  #closed(ws, code, why = '') {
    clearTimeout(ws.welcomeTimer);
    if (ws === this.spare) { this.spare = null; if (!this.ws) this.#retry(); return; }
    if (ws !== this.ws) return;
    this.ws = null;
    if (code === 4005 && this.spare) return; // our own refresh replaced it: the spare takes over
    if (this.leaving) return this.#end('left', code);
    if (TICKET_CODES.has(code) && !this.resume) return this.#retry(); // a fresh ticket next time
    const reason = code === 4010 && why === 'revoked' ? 'revoked' : FINAL[code];
    if (reason) return this.#end(reason, code);
    this.#retry();
  }

  #retry() {
    if (this.state === 'closed') return;
    // Leaving on a link that died before the server answered: gone is gone, never resumed.
    if (this.leaving) return this.#end('left', 1000);
    for (const item of this.outbox.values()) item.sent = false;
    this.pingAt = 0;
    // A link that keeps dropping right after each welcome backs off like one that fails to
    // connect (each round costs a snapshot over a slow link); one that held starts over.
    if (this.liveSince && Date.now() - this.liveSince >= STABLE_MS) this.attempt = 0;
    this.liveSince = 0;
    const delay = Math.random() * Math.min(CAP_MS, BASE_MS * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.#setState(navigator.onLine ? 'retrying' : 'offline', { at: Date.now() + delay });
    this.#outboxChanged();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.#connect(), delay);
  }

  #end(reason, code, detail) {
    if (this.state === 'closed') return;
    sessionStorage.removeItem(this.key); // replaced too: the other tab keeps its own copy
    this.resume = null;
    this.#setState('closed');
    this.close();
    this.o.onEnd(reason, code, detail);
  }

  #setState(state, detail = {}) {
    this.state = state;
    this.o.onState(state, detail);
  }
}
