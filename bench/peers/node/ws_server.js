// Node `ws` broadcast server: Haven's native-speed reference peer.
//
// Semantics shared by every peer (see bench/peers/README.md): the first text frame is
// {"t":"join","room":NAME}; the server answers {"t":"joined"}; every later text frame is
// broadcast verbatim to all members of that room, the sender included.
// Usage: node ws_server.js PORT
'use strict';
const { WebSocketServer } = require('ws');

const port = Number(process.argv[2] || 0);
const rooms = new Map();
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 16384 });

wss.on('connection', (ws) => {
  let room = null;
  ws.on('message', (data, isBinary) => {
    if (room === null) {
      const msg = JSON.parse(data.toString());
      room = rooms.get(msg.room);
      if (room === undefined) {
        room = new Set();
        rooms.set(msg.room, room);
      }
      room.add(ws);
      ws.send('{"t":"joined"}');
      return;
    }
    for (const peer of room) peer.send(data, { binary: isBinary });
  });
  ws.on('close', () => {
    if (room !== null) room.delete(ws);
  });
  ws.on('error', () => {});
});
wss.on('listening', () => console.log(`ws-node listening on ${wss.address().port}`));
