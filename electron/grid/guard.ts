// The one wrapper for every entry point the event loop calls (timers, socket and process handlers):
// an exception is logged with its context and the process carries on, instead of dying uncaught.
import type { Logger } from 'pino';

/** `fn`, but a throw (or a rejected promise) is logged as `${what} failed` and swallowed. */
export function guarded<A extends unknown[]>(
  log: Pick<Logger, 'error'>,
  what: string,
  fn: (...args: A) => unknown,
): (...args: A) => void {
  return (...args: A) => {
    try {
      const out = fn(...args);
      if (out instanceof Promise)
        out.catch((err: unknown) => log.error({ err, where: what }, `${what} failed; carrying on`));
    } catch (err) {
      log.error({ err, where: what }, `${what} failed; carrying on`);
    }
  };
}

/** A WebSocket close reason: at most 123 UTF-8 bytes, or `ws` throws. */
export function closeReason(text: string): string {
  let out = text.slice(0, 123);
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
