// The JSON body parser of our HTTP servers: a body that is not JSON, or that carries a key that
// could poison a prototype (`__proto__`, `constructor.prototype`), is refused with a message that
// says which and where — Fastify's own parser calls both "not valid JSON".
import type { FastifyInstance } from 'fastify';
import { ColonyError, ValidationError } from '../../shared/errors.js';

/** Path of the first prototype-poisoning key in `value`, or undefined. */
function poisonedKey(value: unknown, path: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    const here = path ? `${path}.${key}` : key;
    if (key === '__proto__') return here;
    if (
      key === 'constructor' &&
      typeof child === 'object' &&
      child !== null &&
      'prototype' in child
    )
      return `${here}.prototype`;
    const deeper = poisonedKey(child, here);
    if (deeper) return deeper;
  }
  return undefined;
}

export function parseJsonBody(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ColonyError('BAD_INPUT', `body is not JSON: ${(err as Error).message}`);
  }
  const key = poisonedKey(value, '');
  if (key)
    throw new ValidationError('refused body', [
      { field: key, message: 'keys named __proto__ or constructor.prototype are not accepted' },
    ]);
  return value;
}

/** Replaces the app's application/json parser with parseJsonBody. */
export function useJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
