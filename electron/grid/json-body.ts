// The JSON body parser of our HTTP servers, on the one bounded reader: a body that is not JSON, too
// deep, too large or with too many keys/items is refused (400/413) naming what and where, and so is a
// key that could poison a prototype (`__proto__`, `constructor.prototype`).
import type { FastifyInstance } from 'fastify';
import { JSON_LIMITS, readJson, type JsonLimits } from '../../shared/bounded-json.js';

export function parseJsonBody(text: string, limits: JsonLimits = JSON_LIMITS.body): unknown {
  return readJson(text, limits, 'body', { refuseProtoKeys: true });
}

/** Replaces the app's application/json parser with parseJsonBody (its bodyLimit is maxBytes). */
export function useJsonBodyParser(app: FastifyInstance): void {
  const limits = {
    ...JSON_LIMITS.body,
    maxBytes: app.initialConfig.bodyLimit ?? JSON_LIMITS.body.maxBytes,
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string, limits));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
