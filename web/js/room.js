// The room as this client knows it: a welcome snapshot plus the events after it.
// Pure data, no DOM: the view reads it after each change. Mirrors app/rooms/reducer.py for the
// fields a client can see; anything the client cannot see stays as the snapshot said.

export const FAC = new Set(['host', 'cofac']);

export class Room {
  constructor(welcome) {
    const r = welcome.room;
    this.me = welcome.me;
    this.role = welcome.role;
    this.id = r.id;
    this.title = r.title;
    this.phase = r.phase;
    this.count = r.count;
    this.lobby = !('members' in r); // a member in the lobby gets only id, title, phase, count
    this.members = new Map((r.members || []).map((m) => [m.m, { ...m }]));
    this.hands = r.hands || [];
    this.queuePos = r.queue_pos ?? null;
    this.floor = r.floor || null;
    this.locked = !!r.locked;
    this.mutedAll = !!r.muted_all;
    this.slow = r.slow || 0;
    this.pin = r.pin ?? null;
    this.chat = r.chat || 'open';
    this.visible = r.members_visible !== false;
    this.muted = !!(r.me && r.me.muted);
    this.blocks = new Set((r.me && r.me.blocks) || []);
    this.holds = new Map((r.holds || []).map((h) => [h.h, h]));
    this.warned = !!(r.floor && r.floor.warned); // past the 30 s warning, or the time is up
  }

  get isFac() { return FAC.has(this.role); }
  name(m) { const x = this.members.get(m); return x ? x.n : 'Someone'; }
  admitted() { return [...this.members.values()].filter((m) => !m.lob); }
  waiting() { return [...this.members.values()].filter((m) => m.lob); }
  peopleCount() { return this.visible || this.isFac ? this.admitted().length : this.count; }
  myHand() { return this.hands.includes(this.me); }
  position() {
    // With the list hidden, `hands` holds only our own: the server sends our place (`queue`).
    const i = this.hands.indexOf(this.me);
    return i >= 0 && (this.visible || this.isFac) ? i + 1 : this.queuePos;
  }
  canPost() {
    return this.isFac || (this.phase === 'live' && !this.muted && !this.mutedAll && this.chat === 'open');
  }

  #set(m, fields) { const x = this.members.get(m); if (x) Object.assign(x, fields); }
  #unhand(m) { this.hands = this.hands.filter((h) => h !== m); if (m === this.me) this.queuePos = null; }

  /** Fold one event in. Returns true when it changed what the side panels show. */
  apply(e) {
    switch (e.t) {
      case 'join':
        this.members.set(e.m, { m: e.m, n: e.n, r: e.r, lob: e.lob, away: false, muted: false, hand: false });
        return true;
      case 'admit':
        // The protocol's `admit` names no one: a member of the room may not have seen this
        // person's `join` (lobby joins go to facilitators only). Count them all the same.
        if (!this.members.has(e.m)) this.members.set(e.m, { m: e.m, n: e.n || 'Someone', r: e.r || 'member', lob: false, away: false, muted: false, hand: false });
        this.#set(e.m, { lob: false });
        if (e.m === this.me) this.lobby = false;
        return true;
      case 'to_lobby':
        this.#set(e.m, { lob: true, hand: false });
        this.#unhand(e.m);
        if (this.floor && this.floor.m === e.m) this.floor = null;
        if (e.m === this.me) this.lobby = true;
        return true;
      case 'leave':
        this.members.delete(e.m);
        this.#unhand(e.m);
        if (this.floor && this.floor.m === e.m) this.floor = null;
        return true;
      case 'away': this.#set(e.m, { away: true }); return true;
      case 'back': this.#set(e.m, { away: false }); return true;
      case 'count': this.count = e.c; return true;
      case 'hand':
        this.#unhand(e.m);
        if (e.up && !(this.floor && this.floor.m === e.m)) this.hands.push(e.m);
        this.#set(e.m, { hand: e.up });
        return true;
      case 'floor':
        this.floor = e.m ? { m: e.m, n: e.n, until: e.until } : null;
        this.warned = false;
        if (e.m) { this.#unhand(e.m); this.#set(e.m, { hand: false }); }
        return true;
      case 'floor_warn': this.warned = true; return true;
      case 'floor_time': if (this.floor) this.floor.until = null; return true;
      case 'mute':
        this.#set(e.m, { muted: e.on });
        if (e.m === this.me) this.muted = e.on;
        return true;
      case 'mute_all': this.mutedAll = e.on; return true;
      case 'role': {
        // A mute outlives a role change; only a host cannot be muted (as the server keeps it).
        const x = this.members.get(e.m);
        this.#set(e.m, { r: e.r, muted: e.r !== 'host' && !!(x && x.muted) });
        if (e.m === this.me) { this.role = e.r; if (e.r === 'host') this.muted = false; }
        return true;
      }
      case 'lock': this.locked = e.on; return true;
      case 'slow': this.slow = e.secs; return true;
      case 'pin': this.pin = e.i; return true;
      case 'phase': this.phase = e.p; return true;
      case 'held': this.holds.set(e.h, e); return true;
      case 'hold_done': this.holds.delete(e.h); return true;
      case 'block':
        if (e.on) this.blocks.add(e.m); else this.blocks.delete(e.m);
        return true;
      default:
        return false; // msg, react, lobby_msg, report, alert, care, notice, trust: the stream's
    }
  }
}

/** Events whose effect a welcome snapshot already includes (skipped when replayed). */
export const STATEFUL = new Set([
  'join', 'admit', 'to_lobby', 'leave', 'away', 'back', 'count', 'hand', 'floor', 'floor_warn',
  'floor_time', 'mute', 'mute_all', 'role', 'lock', 'slow', 'pin', 'phase', 'held', 'hold_done', 'block',
]);
