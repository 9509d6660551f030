// BullMQ peer (forked): the same no-op jobs through a Redis queue with a worker of `concurrency`.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { serveRpc } from '../lib/procs.js';

async function run(args: { port: number; tasks: number; concurrency: number; maxMs: number }) {
  // BullMQ under native ESM takes constructed clients; a worker needs its own blocking one.
  const redis = () => new Redis({ host: '127.0.0.1', port: args.port, maxRetriesPerRequest: null });
  const connection = redis();
  const name = `bench-${args.concurrency}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  // Adding the jobs is not timed, like Colony's one-request submit of a sweep.
  for (let i = 0; i < args.tasks; i += 1000) {
    const n = Math.min(1000, args.tasks - i);
    await queue.addBulk(
      Array.from({ length: n }, (_, k) => ({ name: 'noop', data: { i: i + k } })),
    );
  }
  let done = 0;
  let first = 0;
  let last = 0;
  const workerConnection = redis();
  const worker = new Worker(name, async () => null, {
    connection: workerConnection,
    concurrency: args.concurrency,
    autorun: false,
  });
  const finished = new Promise<void>((res) => {
    const timer = setTimeout(res, args.maxMs);
    worker.on('completed', () => {
      if (first === 0) first = performance.now();
      last = performance.now();
      if (++done >= args.tasks) {
        clearTimeout(timer);
        res();
      }
    });
  });
  const t0 = performance.now();
  void worker.run();
  await finished;
  // From the worker's start (the first job's fetch is part of the cycle) to the last completion.
  const seconds = (last - t0) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  workerConnection.disconnect();
  return { done, seconds, tasksPerS: done / seconds };
}

serveRpc({ run });
