// Runs a command attempt in its own process group and maps its exit to a RunOutcome.
import { CommandProcess } from '../worker/command-runtime.js';
import { fillCommand } from '../worker/templates.js';
import type { Attempt, RunOutcome } from './supervisor-attempt.js';
import { commonOutcome } from './supervisor-node.js';
import { collectOutputs } from './supervisor-workdir.js';

/** Commands see the owner's environment minus Colony's own secrets. */
export function commandEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([key]) => !key.startsWith('COLONY_') && key !== 'ELECTRON_RUN_AS_NODE',
    ),
  );
}

export async function runCommand(
  attempt: Attempt,
  workdir: string,
  outputRoot: string,
  env: NodeJS.ProcessEnv,
): Promise<RunOutcome> {
  const { req, hooks } = attempt;
  const argv = fillCommand(req.command ?? [], req.input);
  const onLog = hooks.onLog ? (line: string) => hooks.onLog?.(line) : undefined;
  const proc = new CommandProcess(argv, workdir, env, onLog);
  const finished = proc.run();
  attempt.bind({
    pid: proc.pid ?? -1,
    cpuMs: () => proc.cpuMs(),
    hardKill: () => proc.killGroup('SIGKILL'),
    setStopped: (stopped) => proc.killGroup(stopped ? 'SIGSTOP' : 'SIGCONT'),
  });
  void finished.then((result) => attempt.end({ kind: 'command', result }));

  const ending = await attempt.ending;
  const cpuMs = attempt.cpuMs();
  if (ending.kind !== 'command') {
    proc.killGroup('SIGKILL');
    await finished;
    return commonOutcome(attempt, ending, cpuMs);
  }
  const { result } = ending;
  const base = { attemptId: attempt.id, wallMs: attempt.wallMs(), cpuMs: result.cpuMs || cpuMs };
  if (result.spawnError) {
    return {
      ...base,
      state: 'failed',
      reason: 'error',
      error: `cannot start command ${argv[0]}: ${result.spawnError.message}`,
    };
  }
  if (result.signal) {
    return {
      ...base,
      state: 'failed',
      reason: 'crash',
      error: `command killed by signal ${result.signal}: ${result.stderrTail.trim()}`,
    };
  }
  if (result.exitCode !== 0) {
    const stderr = result.stderrTail.trim();
    const error = `command exited with code ${result.exitCode}${stderr ? `: ${stderr}` : ''}`;
    return {
      ...base,
      state: 'failed',
      reason: 'error',
      error,
      ...(result.exitCode !== null ? { exitCode: result.exitCode } : {}),
    };
  }
  const outputFiles = await collectOutputs(workdir, req.outputs, outputRoot, attempt.id);
  // `stdout` is the last 64 KiB; the whole stream was in the workdir's .stdout.log (collectable by glob).
  return {
    ...base,
    state: 'succeeded',
    output: { exitCode: 0, stdout: result.stdoutTail },
    outputFiles,
  };
}
