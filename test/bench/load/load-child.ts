// The load process of the bench (forked, driven over IPC): simulated contributors that work,
// measure latency or only heartbeat, and the raw WebSocket client for the ceiling.
import { WebSocket } from 'ws';
import type { CoordinatorMessage } from '../../../shared/protocol.js';
import { serveRpc, sleep } from '../lib/procs.js';
import { SimContributor } from './sim-contributor.js';

interface Target {
  url: string;
  secret: string;
  fingerprint: string;
}

let sims: SimContributor[] = [];
let heartbeatTimers: NodeJS.Timeout[] = [];

async function connectAll(t: Target, n: number, slots: number, heartbeatMs: number, tag: string) {
  sims = [];
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); j++)
      batch.push(new SimContributor({ ...t, id: `${tag}-${j}`, slots, heartbeatMs }));
    await Promise.all(batch.map((s) => s.connect()));
    sims.push(...batch);
  }
}

async function closeAll(): Promise<void> {
  for (const timer of heartbeatTimers) clearInterval(timer);
  heartbeatTimers = [];
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
}

/**
 * Every connection offers `slots` credits and answers each assignment the way the real manager
 * does with an instant task: `started`, `result`, then `ready` for the freed slot. Resolves when
 * `tasks` results were acknowledged (durable) or `maxMs` passed.
 */
async function work(
  args: Target & { connections: number; slots: number; tasks: number; maxMs: number; tag: string },
) {
  await connectAll(args, args.connections, args.slots, 60_000, args.tag);
  let acks = 0;
  let firstAssign = 0;
  let lastAck = 0;
  const done = new Promise<void>((res) => {
    const timer = setTimeout(res, args.maxMs);
    for (const sim of sims) {
      sim.onMessage = (msg: CoordinatorMessage) => {
        if (msg.type === 'assign') {
          if (firstAssign === 0) firstAssign = performance.now();
          const out: object[] = [];
          for (const a of msg.attempts) {
            out.push({ type: 'started', attemptId: a.attemptId });
            out.push({
              type: 'result',
              attemptId: a.attemptId,
              state: 'succeeded',
              output: null,
              wallMs: 0,
              cpuMs: 0,
            });
          }
          out.push({ type: 'ready', slots: msg.attempts.length });
          sim.sendMany(out);
        } else if (msg.type === 'result-ack') {
          acks++;
          lastAck = performance.now();
          if (acks >= args.tasks) {
            clearTimeout(timer);
            res();
          }
        }
      };
      sim.send({ type: 'ready', slots: args.slots });
    }
  });
  await done;
  const seconds = firstAssign && lastAck > firstAssign ? (lastAck - firstAssign) / 1000 : NaN;
  await closeAll();
  return { acks, seconds, tasksPerS: acks / seconds };
}

/** One contributor, one slot: assign-to-assign cycle and result-to-ack latency, in ms. */
async function latency(args: Target & { tasks: number; warmup: number; maxMs: number }) {
  await connectAll(args, 1, 1, 60_000, 'lat');
  const sim = sims[0] as SimContributor;
  const cycles: number[] = [];
  const acks: number[] = [];
  const sentAt = new Map<string, number>();
  let lastAssign = 0;
  let seen = 0;
  await new Promise<void>((res) => {
    const timer = setTimeout(res, args.maxMs);
    sim.onMessage = (msg) => {
      const now = performance.now();
      if (msg.type === 'assign') {
        seen++;
        if (lastAssign && seen > args.warmup) cycles.push(now - lastAssign);
        lastAssign = now;
        const a = msg.attempts[0];
        if (!a) return;
        sentAt.set(a.attemptId, performance.now());
        sim.sendMany([
          { type: 'started', attemptId: a.attemptId },
          {
            type: 'result',
            attemptId: a.attemptId,
            state: 'succeeded',
            output: null,
            wallMs: 0,
            cpuMs: 0,
          },
          { type: 'ready', slots: 1 },
        ]);
      } else if (msg.type === 'result-ack') {
        const t = sentAt.get(msg.attemptId);
        sentAt.delete(msg.attemptId);
        if (t !== undefined && seen > args.warmup) acks.push(now - t);
        if (acks.length >= args.tasks) {
          clearTimeout(timer);
          res();
        }
      }
    };
    sim.send({ type: 'ready', slots: 1 });
  });
  await closeAll();
  return { cycles, acks };
}

/** `n` contributors that only heartbeat, each every `heartbeatMs`, spread evenly over the period. */
async function heartbeat(args: Target & { connections: number; heartbeatMs: number }) {
  await connectAll(args, args.connections, 0, args.heartbeatMs, 'hb');
  sims.forEach((sim, i) => {
    const start = setTimeout(
      () => {
        sim.send({ type: 'heartbeat', running: [] });
        heartbeatTimers.push(
          setInterval(() => sim.send({ type: 'heartbeat', running: [] }), args.heartbeatMs),
        );
      },
      (i * args.heartbeatMs) / sims.length,
    );
    heartbeatTimers.push(start);
  });
  return { connected: sims.length };
}

/**
 * Raw WebSocket ceiling: `connections` sockets to the echo server, each with one request in
 * flight at a time (like one slot), for `ms` milliseconds. Replies are JSON-parsed, as ours are.
 */
async function wsClient(args: { url: string; connections: number; ms: number; payload: string }) {
  const sockets: WebSocket[] = [];
  for (let i = 0; i < args.connections; i++) {
    const ws = new WebSocket(args.url, { perMessageDeflate: false, rejectUnauthorized: false });
    await new Promise<void>((res, rej) => {
      ws.once('open', () => res());
      ws.once('error', rej);
    });
    sockets.push(ws);
  }
  let count = 0;
  let running = true;
  const t0 = performance.now();
  for (const ws of sockets) {
    ws.on('message', (data: Buffer) => {
      JSON.parse(data.toString('utf8'));
      count++;
      if (running) ws.send(args.payload);
    });
    ws.send(args.payload);
  }
  await sleep(args.ms);
  running = false;
  const seconds = (performance.now() - t0) / 1000;
  const total = count;
  for (const ws of sockets) ws.terminate();
  return { roundTrips: total, seconds, perS: total / seconds };
}

serveRpc({
  work,
  latency,
  heartbeat,
  closeAll: async () => {
    await closeAll();
    return {};
  },
  wsClient,
});
