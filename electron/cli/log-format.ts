// Terminal log lines for people: pino's JSON records rewritten as "12:03:04 WARN message key=value".
// A few lines of our own rather than pino-pretty (a dozen dependencies, and a worker-thread transport
// for what is one synchronous write per record here); `--log-format json` keeps the raw records.
import { writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v instanceof Object && 'message' in v && typeof v.message === 'string')
    return JSON.stringify(v.message); // a serialised error: its message, not its stack
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON record as a line a person reads; anything that is not a record passes as is. */
export function formatRecord(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof rec !== 'object' || rec === null) return line;
  const { level, time, msg, ...rest } = rec;
  delete rest.pid;
  delete rest.hostname;
  const at = typeof time === 'number' ? new Date(time).toTimeString().slice(0, 8) : '';
  const lvl = (LEVELS[level as number] ?? String(level)).padEnd(5);
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`);
  return [at, lvl, typeof msg === 'string' ? msg : '', ...fields].filter((s) => s !== '').join(' ');
}

/** A logger writing to stderr: readable lines (`pretty`) or pino's JSON (`json`). */
export function terminalLogger(
  format: string | undefined,
  level = process.env.COLONY_LOG ?? 'info',
): Logger {
  if (format === 'json') return pino({ level, base: undefined }, pino.destination(2));
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') writeSync(2, `${formatRecord(line)}\n`);
      done();
    },
  });
  return pino({ level, base: undefined }, out);
}
