// Job folders used by several integration tests.
import { existsSync, realpathSync } from 'node:fs';

/** A node job of `count` tasks, each spinning the CPU for about `ms` and returning x * 2. */
export function busyJob(
  name: string,
  count: number,
  ms: number,
  extra = '',
): Record<string, string> {
  return {
    'job.yaml': `name: ${name}\nruntime: node\nmodule: ./busy.mjs\ntasks:\n  sweep:\n    x: { range: [0, ${count}] }\n    ms: [${ms}]\n${extra}`,
    'busy.mjs': [
      'export default async ({ x, ms }) => {',
      '  const end = Date.now() + ms;',
      '  while (Date.now() < end) { /* spin: real CPU work */ }',
      '  return { double: x * 2 };',
      '};',
      '',
    ].join('\n'),
  };
}

/**
 * A Node binary a `command` task can start inside the sandbox, which shows only the system folders:
 * this test's own when it lives there, else the system's (Node from the npm registry lives in ~/.npm).
 */
export function nodeForCommands(): string {
  const own = realpathSync(process.execPath);
  const candidates = [own, '/usr/local/bin/node', '/usr/bin/node'];
  const found = candidates.find((p) => /^\/(usr|bin)\//.test(p) && existsSync(p));
  if (!found) throw new Error(`no Node binary under /usr or /bin for command tasks (${own})`);
  return found;
}
