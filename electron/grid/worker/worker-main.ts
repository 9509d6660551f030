// Entry of a long-lived worker process: takes `run` messages from the supervisor, one task at a time.
// It runs under Node's permission model and imports nothing outside this folder at run time
// (the IPC schemas are imported as types only), see shared/worker-ipc.ts.
import type {
  FromWorkerMessage,
  ToWorkerMessage,
  WorkerRunMessage,
} from '../../../shared/worker-ipc.js';
import { RunningTask, errorMessage } from './node-runtime.js';
import { endMark } from './output-end.js';

// Tasks chdir into their workdir; between tasks the worker returns here (the work root) so the
// removed workdir of the previous attempt is never the cwd.
const homeDir = process.cwd();
let current: RunningTask | undefined;

function send(msg: FromWorkerMessage, then?: () => void): void {
  if (!process.connected) return;
  process.send?.(msg, undefined, {}, () => then?.());
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Hand checks instead of zod: the supervisor is trusted, this only guards against a broken channel. */
function parseMessage(raw: unknown): ToWorkerMessage | undefined {
  if (!isRecord(raw) || typeof raw.attemptId !== 'string' || raw.attemptId === '') return undefined;
  if (raw.type === 'cancel') return { type: 'cancel', attemptId: raw.attemptId };
  if (
    raw.type !== 'run' ||
    typeof raw.modulePath !== 'string' ||
    typeof raw.workdir !== 'string' ||
    typeof raw.maxOutputDepth !== 'number'
  )
    return undefined;
  const files = raw.files;
  if (!isRecord(files) || !Object.values(files).every((p) => typeof p === 'string'))
    return undefined;
  return {
    type: 'run',
    attemptId: raw.attemptId,
    modulePath: raw.modulePath,
    workdir: raw.workdir,
    maxOutputDepth: raw.maxOutputDepth,
    input: raw.input,
    files: files as Record<string, string>,
  };
}

// Taken before any task runs: a task that replaces process.stdout.write cannot hide the end mark.
const writeOut = process.stdout.write.bind(process.stdout);
const writeErr = process.stderr.write.bind(process.stderr);

/** A task's result goes after its end mark on stdout and stderr (docs: the supervisor waits for both). */
function sendFromTask(msg: FromWorkerMessage, then?: () => void): void {
  if (msg.type === 'done' || msg.type === 'error') {
    const mark = endMark(msg.attemptId);
    try {
      writeOut(mark);
      writeErr(mark);
    } catch {
      // a closed pipe: the supervisor stops waiting after a moment
    }
  }
  send(msg, then);
}

async function run(msg: WorkerRunMessage): Promise<void> {
  const task = new RunningTask(msg, sendFromTask);
  current = task;
  try {
    process.chdir(msg.workdir);
    await task.run();
  } catch (err) {
    task.fail(err);
  } finally {
    if (current === task) current = undefined;
    process.chdir(homeDir);
  }
}

process.on('message', (raw: unknown) => {
  const msg = parseMessage(raw);
  if (!msg) {
    process.stderr.write(`worker: ignored malformed message\n`);
    return;
  }
  if (msg.type === 'cancel') {
    if (current?.attemptId === msg.attemptId) current.cancel();
    return;
  }
  if (current) {
    send(
      errorMessage(msg.attemptId, new Error(`worker busy with attempt ${current.attemptId}`), 0),
    );
    return;
  }
  void run(msg);
});

// A stray throw from a task's timer or an unhandled rejection leaves the process in an unknown
// state: report it against the running attempt, then exit so the supervisor starts a clean worker.
function fatal(err: unknown): void {
  const task = current;
  if (task && !task.isSettled) {
    task.fail(err, () => process.exit(70));
    return;
  }
  process.stderr.write(`worker: uncaught error outside a task: ${String(err)}\n`);
  process.exit(70);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// Without its supervisor a worker has nothing to do; never outlive it.
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', pid: process.pid, node: process.versions.node });
