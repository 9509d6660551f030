// Runs a node attempt on a worker process and turns however it ended into a RunOutcome.
import { pathToFileURL } from 'node:url';
import type { WorkerRunMessage } from '../../../../shared/worker-ipc.js';
import { readCpuMs } from '../../worker/proc-stat.js';
import type { Attempt, Ending, RunOutcome } from './supervisor-attempt.js';
import type { WorkerProcess } from './process-worker.js';
import { nameUserModule, withModuleFrame } from './task-errors.js';

// A worker that announced it will exit gets this long before it is killed.
const FATAL_EXIT_WAIT_MS = 2000;

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `killed by signal ${signal}` : `exited with code ${code}`;
}

/** Outcome for the endings every runtime shares; `cpuMs` was sampled before any kill. */
export function commonOutcome(attempt: Attempt, ending: Ending, cpuMs: number): RunOutcome {
  const base = { attemptId: attempt.id, wallMs: attempt.wallMs(), cpuMs };
  if (attempt.cancelRequested) return { ...base, state: 'cancelled' };
  switch (ending.kind) {
    case 'done':
      return { ...base, state: 'succeeded', output: ending.output, outputFiles: [] };
    case 'error':
      return { ...base, state: 'failed', reason: ending.reason, error: ending.message };
    case 'exit': {
      const detail = ending.detail ? `: ${ending.detail}` : '';
      const error = `worker process ${describeExit(ending.code, ending.signal)} during the task${detail}`;
      return {
        ...base,
        state: 'failed',
        reason: 'crash',
        error,
        ...(ending.code !== null ? { exitCode: ending.code } : {}),
      };
    }
    case 'timeout':
      return {
        ...base,
        state: 'failed',
        reason: 'timeout',
        error: `timed out after ${attempt.req.timeoutMs} ms`,
      };
    case 'cancel':
      return { ...base, state: 'cancelled' };
    case 'command':
      throw new Error('command endings are mapped by the command runtime');
  }
}

/**
 * How long to wait, after a result, for the worker's end-of-output mark on its pipes. It is there
 * already unless the machine is very busy, or the task broke its own stdout (then some of its last
 * lines are lost, nothing else).
 */
const OUTPUT_END_WAIT_MS = 2_000;

function waitExit(worker: WorkerProcess, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      worker.kill();
      resolve(worker.exited.then(() => undefined));
    }, ms);
    void worker.exited.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Sends the task to `worker`, relays progress and logs, and waits for the first ending. */
export async function runOnWorker(
  attempt: Attempt,
  worker: WorkerProcess,
  run: Omit<WorkerRunMessage, 'type' | 'attemptId'>,
): Promise<RunOutcome> {
  const { hooks } = attempt;
  const base = readCpuMs(worker.cpuPid) ?? 0;
  worker.clearStderr();
  worker.onLine = (line) => hooks.onLog?.(line);
  worker.onOutput = (stream, chunk) => hooks.onOutput?.(stream, chunk);
  worker.onMessage = (msg) => {
    if (msg.type === 'ready' || msg.attemptId !== attempt.id) return;
    if (msg.type === 'progress') {
      attempt.progress = msg.fraction;
      hooks.onProgress?.(msg.fraction, msg.message);
    } else if (msg.type === 'log') {
      hooks.onLog?.(msg.line);
      hooks.onOutput?.('log', msg.line);
    } else if (msg.type === 'done')
      attempt.end({ kind: 'done', output: msg.output, cpuMs: msg.cpuMs });
    else
      attempt.end({
        kind: 'error',
        // The worker ran the job's staged copy: name it by the module the manager handed in.
        message: nameUserModule(
          withModuleFrame(msg.message, msg.stack, run.modulePath),
          run.modulePath,
          pathToFileURL(attempt.req.modulePath ?? run.modulePath).href,
        ),
        reason: msg.kind,
        cpuMs: msg.cpuMs,
        fatal: msg.fatal ?? false,
      });
  };
  void worker.exited.then(({ code, signal }) =>
    attempt.end({ kind: 'exit', code, signal, detail: worker.recentStderr() }),
  );
  attempt.bind({
    pid: worker.pid,
    cpuMs: () => (readCpuMs(worker.cpuPid) ?? Number.NaN) - base,
    hardKill: () => worker.kill(),
    softCancel: () => worker.send({ type: 'cancel', attemptId: attempt.id }),
    setStopped: (stopped) => worker.signal(stopped ? 'SIGSTOP' : 'SIGCONT'),
  });
  worker.send({ type: 'run', attemptId: attempt.id, ...run });

  const ending = await attempt.ending;
  const cpuMs = ending.kind === 'done' || ending.kind === 'error' ? ending.cpuMs : attempt.cpuMs();
  if (ending.kind === 'timeout' || ending.kind === 'cancel') {
    worker.kill();
    await worker.exited;
  } else if (ending.kind === 'error' && ending.fatal) {
    await waitExit(worker, FATAL_EXIT_WAIT_MS);
  } else await worker.outputEnd(attempt.id, OUTPUT_END_WAIT_MS);
  worker.onMessage = undefined;
  worker.onLine = undefined;
  worker.onOutput = undefined;
  return commonOutcome(attempt, ending, cpuMs);
}
