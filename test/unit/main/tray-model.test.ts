// The tray menu as plain data: icon, tooltip and items from manager status and policy decision.
import { describe, expect, it } from 'vitest';
import { trayModel, type TrayItem } from '../../../electron/main/tray-model.js';
import type { PolicyDecision } from '../../../shared/owner-policy.js';

const now = new Date(2025, 0, 6, 9).getTime();
const paused: PolicyDecision = {
  state: 'paused',
  cause: 'user',
  reason: 'Paused: you are using this computer',
  workers: 0,
  suspend: true,
};
const working: PolicyDecision = {
  state: 'working',
  cause: 'none',
  reason: 'Working: no one has used this computer for 7 min',
  workers: 3,
  suspend: false,
};
const labels = (items: TrayItem[]) => items.map((i) => (i.type === 'separator' ? '---' : i.label));
const enabled = (items: TrayItem[], label: string) =>
  items.find((i) => i.type === 'action' && i.label === label && i.enabled) !== undefined;

describe('trayModel', () => {
  it('shows the pause and its reason in words', () => {
    const m = trayModel({
      mode: 'contributor',
      now,
      decision: paused,
      manager: { connected: true, running: [{}] },
    });
    expect(m.icon).toBe('paused');
    expect(m.tooltip).toBe('Colony — Paused: you are using this computer');
    expect(labels(m.items)).toEqual([
      'Paused: you are using this computer',
      'Holding 1 task',
      '---',
      'Pause for 1 hour',
      'Pause until tomorrow',
      'Pause until I resume',
      'Resume',
      '---',
      'Open panel',
      '---',
      'Quit Colony',
    ]);
    expect(enabled(m.items, 'Pause for 1 hour')).toBe(true);
    expect(enabled(m.items, 'Resume')).toBe(false);
  });

  it('is working with tasks, idle without, disconnected without a coordinator', () => {
    const base = { mode: 'contributor' as const, now, decision: working };
    expect(trayModel({ ...base, manager: { connected: true, running: [{}, {}] } }).icon).toBe(
      'working',
    );
    expect(trayModel({ ...base, manager: { connected: true, running: [] } }).icon).toBe('idle');
    const off = trayModel({ ...base, manager: { connected: false, running: [] } });
    expect(off).toMatchObject({
      icon: 'disconnected',
      tooltip: 'Colony — Not connected to a coordinator',
    });
    expect(trayModel({ ...base }).icon).toBe('disconnected');
  });

  it('offers Resume only while the owner snoozed it', () => {
    const snoozed: PolicyDecision = {
      ...paused,
      cause: 'snooze',
      reason: 'Paused by you until 10:00',
      until: now + 3_600_000,
    };
    const m = trayModel({
      mode: 'contributor',
      now,
      decision: snoozed,
      manager: { connected: true, running: [] },
    });
    expect(enabled(m.items, 'Resume')).toBe(true);
    expect(enabled(m.items, 'Pause for 1 hour')).toBe(false);
    expect(labels(m.items)[0]).toBe('Paused by you until 10:00');
  });

  it('shows the coordinator mode with its contributors', () => {
    const m = trayModel({ mode: 'coordinator', now, contributors: 3 });
    expect(m).toMatchObject({
      icon: 'working',
      tooltip: 'Colony — Coordinating: 3 contributors connected',
    });
    expect(labels(m.items)).toEqual([
      'Coordinating: 3 contributors connected',
      '---',
      'Open Colony',
      '---',
      'Quit Colony',
    ]);
  });

  it('says which mode is on, why it paused for a program, and what a throttle holds', () => {
    const game = trayModel({
      mode: 'contributor',
      now,
      decision: { ...paused, cause: 'program', reason: 'Paused: zoom is running' },
      whenActive: 'While you use this computer: pause',
      manager: { connected: true, running: [{}] },
    });
    expect(game.tooltip).toBe('Colony — Paused: zoom is running');
    expect(labels(game.items).slice(0, 3)).toEqual([
      'Paused: zoom is running',
      'Holding 1 task',
      'While you use this computer: pause',
    ]);
    const throttled = trayModel({
      mode: 'contributor',
      now,
      decision: {
        state: 'working',
        cause: 'user',
        reason: 'Throttled: you are using this computer · 1 worker at 25 % CPU',
        workers: 1,
        runLimit: 1,
        suspend: false,
        duty: { runMs: 250, stopMs: 750 },
      },
      whenActive: 'While you use this computer: throttle to 1 worker at 25 % CPU',
      manager: { connected: true, running: [{}, {}, {}] },
    });
    expect(throttled.icon).toBe('working');
    expect(labels(throttled.items).slice(0, 3)).toEqual([
      'Throttled: you are using this computer · 1 worker at 25 % CPU',
      'Running 1 task, holding 2',
      'While you use this computer: throttle to 1 worker at 25 % CPU',
    ]);
  });
});
