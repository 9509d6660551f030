// The contributor panel's loopback API: token and Host checks, status with CPU counters kept on
// disk, pause/resume, and settings that are validated in full (a bad field → 400 naming it,
// nothing saved or applied) and applied live through the policy driver.
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ManagerStatus } from '../../../../../electron/grid/contributor/manager/manager-types.js';
import {
  OwnerPolicy,
  type PolicySample,
} from '../../../../../electron/grid/contributor/policy/owner-policy.js';
import {
  startPanelServer,
  type RunningPanel,
} from '../../../../../electron/grid/contributor/panel/panel-server.js';
import { PolicyDriver } from '../../../../../electron/grid/contributor/policy/policy-driver.js';
import {
  DEFAULT_OWNER_POLICY,
  ownerPolicySettingsSchema,
  type OwnerPolicySettings,
} from '../../../../../shared/owner-policy.js';
import type { PanelPolicySaved, PanelStatus } from '../../../../../shared/panel-api.js';

class FakeManager extends EventEmitter {
  status(): ManagerStatus {
    return {
      contributorId: 'c-test',
      connected: true,
      slots: 2,
      maxSlots: 3,
      freeSlots: 1,
      promised: 0,
      running: [{ attemptId: 'a1', jobId: 'jabc1', idx: 4, phase: 'running', progress: 0.5 }],
      unacknowledged: [],
    };
  }
}

describe('contributor panel server', () => {
  let dir: string;
  let panel: RunningPanel;
  let manager: FakeManager;
  let driver: PolicyDriver;
  let saved: OwnerPolicySettings[];
  /** What the driver's sampler reads: a test double of the machine's sensors. */
  let machine: Omit<PolicySample, 'now'>;

  const call = async (method: string, p: string, body?: unknown, token = panel.token) => {
    const res = await fetch(`${panel.url}/api/v1${p}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'colony-panel-'));
    manager = new FakeManager();
    const policy = new OwnerPolicy(ownerPolicySettingsSchema.parse({ computeWhen: 'always' }), {
      cores: 4,
    });
    machine = { otherCpuLoad: 0, onBattery: false };
    driver = new PolicyDriver({ policy, sample: () => ({ ...machine }) });
    saved = [];
    panel = await startPanelServer({
      dataDir: dir,
      manager,
      coordinator: () => ({ id: 'coord1', url: 'https://127.0.0.1:7070' }),
      driver,
      settings: () => driver.policy.settings,
      save: async (s) => {
        saved.push(s);
      },
      rendererDir: dir, // no index.html: static files are not what this test checks
    });
  });
  afterEach(async () => {
    await panel.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds 127.0.0.1 only and writes its token to the data dir', async () => {
    expect(panel.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await readFile(path.join(dir, 'panel-token'), 'utf8')).trim()).toBe(panel.token);
    expect(panel.openUrl).toBe(`${panel.url}/#panel-token=${panel.token}`);
  });

  it('refuses requests without the token, and with a Host that is not loopback', async () => {
    expect((await call('GET', '/status', undefined, '')).status).toBe(401);
    expect((await call('GET', '/status', undefined, 'wrong')).status).toBe(401);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        `${panel.url}/api/v1/status`,
        { headers: { host: 'evil.example:80', authorization: `Bearer ${panel.token}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('reports status, counting CPU of finished attempts today and in total, kept on disk', async () => {
    manager.emit('outcome', { type: 'result', attemptId: 'a0', cpuMs: 1500 });
    manager.emit('outcome', { type: 'result', attemptId: 'a2', cpuMs: 500 });
    const { status, body } = await call('GET', '/status');
    expect(status).toBe(200);
    const s = body as unknown as PanelStatus;
    expect(s.coordinator).toEqual({ id: 'coord1', url: 'https://127.0.0.1:7070', connected: true });
    expect(s.running[0]).toMatchObject({ jobId: 'jabc1', idx: 4, progress: 0.5 });
    expect(s.cpu).toEqual({ todayMs: 2000, totalMs: 2000 });
    expect(s.policy?.state).toBe('working');
    await panel.close();
    const onDisk = JSON.parse(await readFile(path.join(dir, 'donated-cpu.json'), 'utf8')) as {
      totalMs: number;
    };
    expect(onDisk.totalMs).toBe(2000);
    // A restart carries the counters on.
    panel = await startPanelServer({
      dataDir: dir,
      manager,
      coordinator: () => ({ id: null, url: 'x' }),
      settings: () => DEFAULT_OWNER_POLICY,
      save: async () => undefined,
      rendererDir: dir,
    });
    expect(((await call('GET', '/status')).body as unknown as PanelStatus).cpu.totalMs).toBe(2000);
  });

  it.each([
    [{ cpuLimitPercent: 3 }, 'cpuLimitPercent'],
    [{ computeWhen: 'sometimes' }, 'computeWhen'],
    [{ cpu: { busyAbovePercent: 20, quietBelowPercent: 30 } }, 'cpu.quietBelowPercent'],
    [{ schedule: [{ from: '25:00', to: '08:00' }] }, 'schedule.0.from'],
    [{ maxWorkers: 'many' }, 'maxWorkers'],
    [{ unknownSetting: 1 }, 'unknownSetting'],
    [{ whenActive: 'sometimes' }, 'whenActive'],
    [{ throttle: { workers: 0 } }, 'throttle.workers'],
    [{ heat: { limitCelsius: 200 } }, 'heat.limitCelsius'],
    [{ busyPrograms: { linux: ['zoom', ''] } }, 'busyPrograms.linux.1'],
  ])('rejects %j with 400 naming %s, and changes nothing', async (patch, field) => {
    const before = driver.policy.settings;
    const { status, body } = await call('PUT', '/policy', { ...before, ...patch });
    expect(status).toBe(400);
    const issues = (body.error as { details: { issues: { field: string }[] } }).details.issues;
    expect(issues.map((i) => i.field)).toContain(field);
    expect(driver.policy.settings).toBe(before);
    expect(saved).toEqual([]);
    const after = (await call('GET', '/policy')).body as { settings: OwnerPolicySettings };
    expect(after.settings).toEqual(before);
  });

  it('saves good settings and applies them live, saying what waits for a restart', async () => {
    const next = { ...driver.policy.settings, cpuLimitPercent: 50, maxWorkers: 2 };
    const { status, body } = await call('PUT', '/policy', next);
    expect(status).toBe(200);
    const r = body as unknown as PanelPolicySaved;
    expect(r.applied).toBe('live');
    expect(r.note).toMatch(/maxWorkers/);
    expect(driver.policy.settings.cpuLimitPercent).toBe(50);
    expect(driver.current().duty).toBeDefined();
    expect(saved).toHaveLength(1);
  });

  it('shows what the policy sees, says why where it cannot tell, and applies a new busy program live', async () => {
    machine = {
      ...machine,
      programs: new Set(['bash', 'colony-busy-game']),
      cpuCelsius: 61.5,
      cpuSensor: 'thermal_zone1 (x86_pkg_temp)',
      unknown: { fullScreen: 'no X11 display (DISPLAY is not set)' },
    };
    driver.tick();
    let s = (await call('GET', '/status')).body as unknown as PanelStatus;
    expect(s.whenActive).toBe('While you use this computer: pause');
    expect(s.sensors).toEqual({
      programs: { busy: [] },
      fullScreen: { unknown: 'no X11 display (DISPLAY is not set)' },
      temperature: { celsius: 61.5, sensor: 'thermal_zone1 (x86_pkg_temp)' },
    });
    const policy = (await call('GET', '/policy')).body as unknown as PanelPolicySaved;
    expect(policy.platform).toBe(
      process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'mac' : 'linux',
    );
    const list = {
      ...driver.policy.settings.busyPrograms,
      [policy.platform]: ['colony-busy-game'],
    };
    const put = await call('PUT', '/policy', {
      ...driver.policy.settings,
      busyPrograms: list,
      whenActive: 'throttle',
    });
    expect(put.status).toBe(200);
    s = (await call('GET', '/status')).body as unknown as PanelStatus;
    expect(s.policy).toMatchObject({
      state: 'paused',
      reason: 'Paused: colony-busy-game is running',
    });
    expect(s.sensors?.programs).toEqual({ busy: ['colony-busy-game'] });
    expect(s.whenActive).toBe('While you use this computer: throttle to 1 worker at 25 % CPU');
  });

  it('pauses and resumes like the tray', async () => {
    const paused = await call('POST', '/pause', { kind: '1h' });
    expect(paused.status).toBe(200);
    expect(paused.body.state).toBe('paused');
    const s = (await call('GET', '/status')).body as unknown as PanelStatus;
    expect(s.snooze?.kind).toBe('1h');
    expect((await call('POST', '/pause', { kind: 'forever' })).status).toBe(400);
    const resumed = await call('POST', '/resume');
    expect(resumed.body.state).toBe('working');
  });
});
