// Runs a command attempt in its own process group (inside the sandbox where there is one) and
// maps its exit to a RunOutcome.
import { CommandProcess } from '../../worker/command-runtime.js';
import { readCpuMs } from '../../worker/proc-stat.js';
import { fillCommand } from '../../worker/templates.js';
import { descendants } from './sandbox.js';
import type { Attempt, RunOutcome } from './supervisor-attempt.js';
import { commonOutcome } from './supervisor-node.js';
import {
  collectOutputs,
  OutputError,
  removeOutputs,
  type OutputLimits,
} from './supervisor-workdir.js';

export interface CommandSetup {
  workdir: string;
  outputRoot: string;
  env: NodeJS.ProcessEnv;
  /** Launcher programs (priority, limits, sandbox) the command is started through. */
  prefix: string[];
  /** Set when the command runs below a sandbox: signals and CPU go to the whole tree. */
  treeSignals?: (pid: number, signal: NodeJS.Signals) => void;
  outputLimits: OutputLimits;
  /** Names of the staged inputs in the workdir (links we made, never outputs). */
  stagedNames: ReadonlySet<string>;
}

const CPU_SAMPLE_MS = 250;

/** CPU of a process and everything below it (a sandbox's command is two levels down). */
function treeCpuMs(pid: number): number {
  return [pid, ...descendants(pid)].reduce((sum, p) => sum + (readCpuMs(p, true) ?? 0), 0);
}

// What a command inherits from the contributor's environment: enough to find programs and speak
// the locale, never the owner's credentials, tokens or proxies (an environment is full of them).
const COMMAND_ENV_KEYS = [
  'PATH',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  // Windows needs these to start programs at all.
  'SYSTEMROOT',
  'SYSTEMDRIVE',
  'WINDIR',
  'COMSPEC',
  'PATHEXT',
];

/** A command's environment: the keys above, with home and temp in the attempt's own workdir. */
export function commandEnv(env: NodeJS.ProcessEnv, workdir: string): NodeJS.ProcessEnv {
  const kept: [string, string][] = COMMAND_ENV_KEYS.flatMap((k) => {
    const v = env[k];
    return v !== undefined ? [[k, v] as [string, string]] : [];
  });
  return {
    ...Object.fromEntries(kept),
    HOME: workdir,
    USERPROFILE: workdir,
    TMPDIR: workdir,
    TEMP: workdir,
    TMP: workdir,
  };
}

export async function runCommand(attempt: Attempt, setup: CommandSetup): Promise<RunOutcome> {
  const { req, hooks } = attempt;
  const { workdir, outputRoot, env, prefix, treeSignals } = setup;
  const argv = fillCommand(req.command ?? [], req.input);
  const onLog = hooks.onLog ? (line: string) => hooks.onLog?.(line) : undefined;
  const onOutput = hooks.onOutput
    ? (stream: 'stdout' | 'stderr', chunk: Buffer) => hooks.onOutput?.(stream, chunk)
    : undefined;
  const proc = new CommandProcess([...prefix, ...argv], workdir, env, onLog, onOutput);
  const finished = proc.run();
  const pid = proc.pid ?? -1;
  const signal = (sig: NodeJS.Signals) => {
    proc.killGroup(sig);
    if (treeSignals && pid > 0) treeSignals(pid, sig);
  };
  attempt.bind({
    pid,
    cpuMs: () => (treeSignals && pid > 0 ? treeCpuMs(pid) : proc.cpuMs()),
    hardKill: () => signal('SIGKILL'),
    setStopped: (stopped) => signal(stopped ? 'SIGSTOP' : 'SIGCONT'),
  });
  const sampler = treeSignals ? setInterval(() => attempt.cpuMs(), CPU_SAMPLE_MS) : undefined;
  void finished.then((result) => attempt.end({ kind: 'command', result }));

  const ending = await attempt.ending;
  clearInterval(sampler);
  const cpuMs = attempt.cpuMs();
  if (ending.kind !== 'command') {
    signal('SIGKILL');
    await finished;
    return commonOutcome(attempt, ending, cpuMs);
  }
  const { result } = ending;
  const base = {
    attemptId: attempt.id,
    wallMs: attempt.wallMs(),
    cpuMs: Math.max(result.cpuMs, cpuMs),
  };
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
  let outputFiles;
  try {
    outputFiles = await collectOutputs(
      workdir,
      req.outputs,
      outputRoot,
      attempt.id,
      setup.outputLimits,
      setup.stagedNames,
    );
  } catch (err) {
    await removeOutputs(outputRoot, attempt.id);
    if (!(err instanceof OutputError)) throw err;
    return { ...base, state: 'failed', reason: 'bad-output', error: err.message };
  }
  // `stdout` is the last 64 KiB; the whole stream was in the workdir's .stdout.log (collectable by glob).
  return {
    ...base,
    state: 'succeeded',
    output: { exitCode: 0, stdout: result.stdoutTail },
    outputFiles,
    exitCode: 0,
  };
}
