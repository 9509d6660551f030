#!/usr/bin/env node
// Draws the four tray icons (idle, working, paused, disconnected) as 32×32 PNGs in build/tray/.
// Plain zlib + a hand-rolled PNG writer: the icons are simple discs, no image library needed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 32;
const STATES = {
  idle: { fill: [120, 130, 140], hollow: false },
  working: { fill: [46, 160, 67], hollow: false },
  paused: { fill: [222, 160, 30], hollow: false, bars: true },
  disconnected: { fill: [200, 60, 60], hollow: true },
};

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function draw({ fill, hollow, bars }) {
  const rows = [];
  const c = (SIZE - 1) / 2;
  for (let y = 0; y < SIZE; y++) {
    const row = [0]; // filter: none
    for (let x = 0; x < SIZE; x++) {
      const d = Math.hypot(x - c, y - c);
      // Anti-aliased disc edge; hollow discs keep a 4 px ring.
      let alpha = Math.max(0, Math.min(1, 14.5 - d));
      if (hollow) alpha *= Math.max(0, Math.min(1, d - 9.5));
      const inBar = bars && y >= 9 && y <= 22 && ((x >= 11 && x <= 13) || (x >= 18 && x <= 20));
      const [r, g, b] = inBar ? [255, 255, 255] : fill;
      row.push(r, g, b, Math.round(alpha * 255));
    }
    rows.push(Buffer.from(row));
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(SIZE, 0);
  ihdr.writeUInt32BE(SIZE, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const dir = new URL('../build/tray/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const [name, style] of Object.entries(STATES))
  writeFileSync(new URL(`${name}.png`, dir), draw(style));
