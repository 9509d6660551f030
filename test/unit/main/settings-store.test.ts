// The desktop app's settings file: defaults, first-run choice, validation, atomic writes, seeding.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  machineSeedFile,
  seedCandidates,
  SettingsStore,
} from '../../../electron/main/settings-store.js';
import { autoStartOf } from '../../../shared/app-settings.js';

const TOKEN = `colony1.coord.${'a'.repeat(64)}.s3cret@10.0.0.5:7070`;

describe('SettingsStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'colony-settings-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts at the first-run choice, then keeps the chosen mode across restarts', async () => {
    const store = await SettingsStore.open(dir);
    expect(store.firstRun).toBe(true);
    expect(store.get().contributor.policy.idleMinutes).toBe(5);
    await store.setMode('contributor');
    expect(autoStartOf(store.get())).toBe(true); // on by default for contributors
    const again = await SettingsStore.open(dir);
    expect(again.firstRun).toBe(false);
    expect(again.get().mode).toBe('contributor');
    await again.setMode('coordinator');
    expect(autoStartOf(again.get())).toBe(false);
    await again.update((s) => ({ ...s, autoStart: true }));
    expect(autoStartOf((await SettingsStore.open(dir)).get())).toBe(true);
    expect(readdirSync(dir)).toEqual(['settings.json']); // no temp files left behind
  });

  it('refuses a bad change, naming the field, and keeps the file as it was', async () => {
    const store = await SettingsStore.open(dir);
    const before = readFileSync(store.file, 'utf8');
    await expect(
      store.update((s) => ({
        ...s,
        contributor: { ...s.contributor, policy: { idleMinutes: -1 } },
      })),
    ).rejects.toThrow(/contributor\.policy\.idleMinutes/);
    expect(readFileSync(store.file, 'utf8')).toBe(before);
    expect(store.get().contributor.policy.idleMinutes).toBe(5);
  });

  it('refuses a corrupt settings file instead of silently resetting it', async () => {
    writeFileSync(path.join(dir, 'settings.json'), JSON.stringify({ mode: 'overlord' }));
    await expect(SettingsStore.open(dir)).rejects.toThrow(/mode/);
  });

  it('comes up paired from an administrator seed on first start, and only then', async () => {
    const seed = path.join(dir, 'colony-config.json');
    writeFileSync(
      seed,
      JSON.stringify({ joinToken: TOKEN, policy: { idleMinutes: 10, onBattery: 'run' } }),
    );
    const userData = path.join(dir, 'user');
    const store = await SettingsStore.open(userData, [path.join(dir, 'missing.json'), seed]);
    expect(store.seededFrom).toBe(seed);
    expect(store.firstRun).toBe(false);
    expect(store.get()).toMatchObject({
      mode: 'contributor',
      contributor: {
        joinToken: TOKEN,
        policy: { idleMinutes: 10, onBattery: 'run', cpuLimitPercent: 100 },
      },
    });
    await store.setMode('coordinator');
    const again = await SettingsStore.open(userData, [seed]);
    expect(again.seededFrom).toBeUndefined();
    expect(again.get().mode).toBe('coordinator');
  });

  it('rejects a bad seed by field', async () => {
    const seed = path.join(dir, 'colony-config.json');
    writeFileSync(seed, JSON.stringify({ joinToken: 'nope' }));
    await expect(SettingsStore.open(path.join(dir, 'u'), [seed])).rejects.toThrow(/joinToken/);
    expect(existsSync(path.join(dir, 'u', 'settings.json'))).toBe(false);
  });

  it('looks for the seed in the installer argument, the environment, the machine-wide file, then beside the app', () => {
    expect(
      seedCandidates({
        argv: ['colony', '--colony-config=/mnt/share/c.json'],
        env: { COLONY_CONFIG: '/etc/colony.json' },
        exeDir: '/opt/Colony',
        resourcesDir: '/opt/Colony/resources',
        platform: 'linux',
      }),
    ).toEqual([
      '/mnt/share/c.json',
      '/etc/colony.json',
      '/etc/colony/colony-config.json',
      path.join('/opt/Colony', 'colony-config.json'),
      path.join('/opt/Colony/resources', 'colony-config.json'),
    ]);
  });

  it('puts the machine-wide seed where each platform keeps machine config', () => {
    expect(machineSeedFile('win32', { ProgramData: 'D:\\PD' })).toBe(
      'D:\\PD\\Colony\\colony-config.json',
    );
    expect(machineSeedFile('win32', {})).toBe('C:\\ProgramData\\Colony\\colony-config.json');
    expect(machineSeedFile('darwin', {})).toBe(
      '/Library/Application Support/Colony/colony-config.json',
    );
    expect(machineSeedFile('linux', {})).toBe('/etc/colony/colony-config.json');
    expect(seedCandidates({ argv: [], env: {}, exeDir: '/x', platform: 'darwin' })[0]).toBe(
      '/Library/Application Support/Colony/colony-config.json',
    );
  });
});
