// The raw WebSocket ceiling's server (forked): answers every frame with an assign-sized frame,
// over TLS like the coordinator when given a folder holding cert.pem and key.pem.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';

const reply = process.argv[2] ?? '{}';
const certDir = process.argv[3];
const server = certDir
  ? createServer({
      cert: readFileSync(join(certDir, 'cert.pem')),
      key: readFileSync(join(certDir, 'key.pem')),
    })
  : undefined;
const wss = server
  ? new WebSocketServer({ server, perMessageDeflate: false })
  : new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => ws.on('message', () => ws.send(reply)));
const announce = (port: number) => process.stdout.write(`echo listening ${port}\n`);
if (server)
  server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    announce(typeof addr === 'object' && addr ? addr.port : 0);
  });
else
  wss.on('listening', () => {
    const addr = wss.address();
    announce(typeof addr === 'object' && addr ? addr.port : 0);
  });
