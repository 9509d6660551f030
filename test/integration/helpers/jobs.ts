// Job folders used by several integration tests.

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
