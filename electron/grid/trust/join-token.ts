// Join tokens: colony1.<coordinator-id>.<cert-sha256>.<secret>[@host:port] (docs/trust.md).
import { ColonyError } from '../../../shared/errors.js';

export interface JoinToken {
  coordinatorId: string;
  /** sha256 of the coordinator's certificate; '-' while the coordinator serves plain HTTP. */
  fingerprint: string;
  secret: string;
  address?: string;
}

const TOKEN =
  /^colony1\.([0-9a-f]{8,64})\.([0-9a-f]{64}|-)\.([A-Za-z0-9_-]{16,})(?:@([^\s@]+:\d{1,5}))?$/;

export function formatJoinToken(t: JoinToken): string {
  return `colony1.${t.coordinatorId}.${t.fingerprint}.${t.secret}${t.address ? `@${t.address}` : ''}`;
}

export function parseJoinToken(text: string): JoinToken {
  const m = TOKEN.exec(text.trim());
  if (!m)
    throw new ColonyError(
      'BAD_INPUT',
      'not a join token (expected colony1.<id>.<fingerprint>.<secret>[@host:port])',
    );
  return {
    coordinatorId: m[1] as string,
    fingerprint: m[2] as string,
    secret: m[3] as string,
    ...(m[4] ? { address: m[4] } : {}),
  };
}
