// A small client of the appliance's Socket.IO endpoint (Engine.IO v4,
// Socket.IO v5) over the WebSocket transport only: event packets in, events
// with acknowledgements out, pings answered, and after a drop a reconnect
// that asks for what was missed (`since`, the last event id seen).

export class Realtime {
  constructor(token) {
    this.token = token;
    this.handlers = new Map();
    this.pending = new Map();
    this.nextAck = 1;
    this.lastEventID = null;
    this.wanted = true;
    this.retry = 1000;
    this.open();
  }

  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event).push(handler);
  }

  /** Sends an event; resolves with its acknowledgement. */
  emit(event, data) {
    return new Promise((resolve, reject) => {
      if (!this.connected) { reject(new Error('not connected')); return; }
      const id = this.nextAck++;
      this.pending.set(id, resolve);
      this.socket.send(`42${id}${JSON.stringify([event, data])}`);
    });
  }

  /** Swaps in a newer access token of the same session. */
  refreshToken(token) {
    this.token = token;
    if (this.connected) this.emit('auth:refresh', { token }).catch(() => {});
  }

  close() {
    this.wanted = false;
    this.connected = false;
    this.socket?.close();
  }

  open() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.socket = new WebSocket(`${scheme}//${location.host}/socket.io/?EIO=4&transport=websocket`);
    this.socket.addEventListener('message', (event) => this.receive(String(event.data)));
    this.socket.addEventListener('close', () => {
      this.connected = false;
      this.dispatch('status', 'disconnected');
      if (this.wanted) setTimeout(() => { if (this.wanted) this.open(); }, this.retry);
      this.retry = Math.min(this.retry * 2, 30_000);
    });
  }

  receive(packet) {
    switch (packet[0]) {
      case '0': { // Engine.IO open: connect to the main namespace with the token
        const auth = { token: this.token };
        if (this.lastEventID !== null) auth.since = this.lastEventID;
        this.socket.send(`40${JSON.stringify(auth)}`);
        break;
      }
      case '2': this.socket.send('3'); break; // ping → pong
      case '4': this.receiveSocketIO(packet.slice(1)); break;
      default: break;
    }
  }

  receiveSocketIO(packet) {
    const type = packet[0];
    const rest = packet.slice(1);
    if (type === '0') { this.connected = true; this.retry = 1000; this.dispatch('status', 'connected'); return; }
    if (type === '4') { this.wanted = false; this.dispatch('status', 'refused'); this.socket.close(); return; }
    if (type === '1') { this.socket.close(); return; }
    const match = /^(\d*)(\[.*)$/s.exec(rest);
    if (!match) return;
    const payload = JSON.parse(match[2]);
    if (type === '2') {
      const [event, data] = payload;
      if (data && typeof data.event_id === 'number') this.lastEventID = data.event_id;
      this.dispatch(event, data);
    } else if (type === '3') {
      const resolve = this.pending.get(Number(match[1]));
      this.pending.delete(Number(match[1]));
      resolve?.(payload[0]);
    }
  }

  dispatch(event, data) {
    for (const handler of this.handlers.get(event) || []) handler(data);
  }
}

// The console's one connection, and who listens: parts that live as long as
// the session (banner, unread badge) and the page on screen, whose handlers
// go when another page is opened.
let connection = null;
const sessionHandlers = new Map();
let pageHandlers = new Map();

function deliver(event, data) {
  for (const table of [sessionHandlers, pageHandlers]) for (const handler of table.get(event) || []) handler(data);
}
function register(table, event, handler) {
  if (!table.has(event)) table.set(event, []);
  table.get(event).push(handler);
}

export const live = {
  connect(token) {
    live.disconnect();
    connection = new Realtime(token);
    for (const event of ['message:new', 'message:read', 'conversation:unread', 'crisis:alert', 'crisis:escalated', 'crisis:acknowledged',
      'crisis:resolved', 'announcement:new', 'resync', 'status']) connection.on(event, (data) => deliver(event, data));
  },
  disconnect() { connection?.close(); connection = null; },
  refreshToken(token) { connection?.refreshToken(token); },
  onSession(event, handler) { register(sessionHandlers, event, handler); },
  onPage(event, handler) { register(pageHandlers, event, handler); },
  leavePage() { pageHandlers = new Map(); },
  get connected() { return Boolean(connection?.connected); },
};
