// Promise: a million-task sweep is accepted at once and costs memory only for extracted tasks.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { PinnedAgent, pinnedFetch } from '../../electron/grid/trust/pinned.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary, TaskRow } from '../../shared/api.js';
import {
  startCoordinator,
  type RunningCoordinator,
} from '../../electron/grid/coordinator/coordinator.js';

describe('a 1,000,000-task sweep', () => {
  let dir: string;
  let coordinator: RunningCoordinator;
  const api = (
    path: string,
    init: { method?: string; body?: string; headers?: Record<string, string> } = {},
  ) =>
    pinnedFetch(new PinnedAgent(coordinator.fingerprint))(`${coordinator.url}/api/v1${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${coordinator.identity.adminToken}`,
        ...init.headers,
      },
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-huge-'));
    coordinator = await startCoordinator({
      dataDir: dir,
      port: 0,
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await coordinator.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is stored as one job row, its tasks described but not materialised', async () => {
    const module = 'export default async ({ i }) => i;\n';
    const sha = createHash('sha256').update(module).digest('hex');
    await api(`/blobs/${sha}`, {
      method: 'PUT',
      body: module,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const res = await api('/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'million',
        runtime: 'node',
        module: { name: 'm.mjs', sha256: sha, size: module.length },
        tasks: { sweep: { i: { range: [0, 1_000_000] } } },
      }),
    });
    expect(res.status).toBe(201);
    const job = (await res.json()) as JobSummary;
    expect(job.taskCount).toBe(1_000_000);
    expect(job.counts.pending).toBe(1_000_000);

    const stored = coordinator.engine.store.db.exec('SELECT COUNT(*) FROM tasks')[0]
      ?.values[0]?.[0];
    expect(stored).toBe(0);

    const page = (await (await api(`/jobs/${job.id}/tasks?offset=999990&limit=20`)).json()) as {
      total: number;
      tasks: TaskRow[];
    };
    expect(page.total).toBe(1_000_000);
    expect(page.tasks.map((t) => t.input)).toEqual(
      [...Array(10).keys()].map((k) => ({ i: 999_990 + k })),
    );
    expect(page.tasks.every((t) => t.state === 'pending')).toBe(true);
  });
});
