// A real coordinator in this test process (real store on disk, real HTTPS on 127.0.0.1, real
// credentials) for the desktop app's tests, with its join token and an admin client.
import path from 'node:path';
import pino from 'pino';
import type { ContributorInfo } from '../../../shared/api.js';
import { ApiClient } from '../../../electron/cli/client.js';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../../electron/grid/coordinator/coordinator.js';
import { formatJoinToken } from '../../../electron/grid/trust/join-token.js';

export interface TestCoordinator {
  coordinator: RunningCoordinator;
  /** `colony1.<id>.<fingerprint>.<secret>@127.0.0.1:<port>` */
  joinToken: string;
  client: ApiClient;
  contributors(): Promise<ContributorInfo[]>;
  close(): Promise<void>;
}

export async function startTestCoordinator(dir: string): Promise<TestCoordinator> {
  const coordinator = await startCoordinator({
    dataDir: path.join(dir, 'coordinator'),
    host: '127.0.0.1',
    port: 0,
    logger: pino({ level: 'silent' }),
  });
  const client = new ApiClient(
    coordinator.url,
    coordinator.identity.adminToken,
    coordinator.fingerprint,
  );
  return {
    coordinator,
    joinToken: formatJoinToken({
      coordinatorId: coordinator.identity.coordinatorId,
      fingerprint: coordinator.fingerprint,
      secret: coordinator.identity.joinSecret,
      address: `127.0.0.1:${coordinator.port}`,
    }),
    client,
    contributors: () => client.json<ContributorInfo[]>('GET', '/contributors'),
    close: () => coordinator.close(),
  };
}
