// Node socket.io room broadcast server: the peer an operator would most likely pick.
//
// Semantics shared by every peer (see bench/peers/README.md): the client emits
// "join" with a room name, the server emits "joined" back; the client emits "say" with a
// text and the server emits "msg" with that text to every member of the room, sender included.
// Usage: node socketio_server.js PORT
'use strict';
const { createServer } = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 0);
const httpServer = createServer();
const io = new Server(httpServer, {
  transports: ['websocket'],
  perMessageDeflate: false,
  maxHttpBufferSize: 16384,
  serveClient: false,
  pingInterval: 600000, // bench/servers.py KEEPALIVE_S, in milliseconds
});

io.on('connection', (socket) => {
  let room = null;
  socket.on('join', (name) => {
    room = String(name);
    socket.join(room);
    socket.emit('joined');
  });
  socket.on('say', (text) => {
    if (room !== null) io.to(room).emit('msg', text);
  });
});
httpServer.listen(port, '127.0.0.1', () => {
  console.log(`socketio-node listening on ${httpServer.address().port}`);
});
