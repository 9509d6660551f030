// What a contributor can know of its machine besides the desktop's idle signal: CPU load of other
// processes (all CPU from os.cpus(), minus what our workers used per /proc/<pid>/stat), battery,
// running programs, a full-screen window in front and the CPU temperature.
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCpuMs } from '../../worker/proc-stat.js';
import { readCpuTemperature, type TemperatureReading } from './cpu-temperature.js';
import type { FullScreenProbe } from './fullscreen-probe.js';
import type { PolicySample } from './owner-policy.js';
import { programLister, type ProgramLister } from './program-list.js';

export interface CpuSamplerOptions {
  /** Our worker processes (and command process groups) whose CPU does not count as the owner's. */
  ownPids: () => number[];
  /** @defaultValue os.cpus */
  cpus?: () => Pick<os.CpuInfo, 'times'>[];
  /** CPU ms of a pid incl. waited-for children. @defaultValue readCpuMs from /proc (Linux) */
  pidCpuMs?: (pid: number) => number | undefined;
}

export class OtherCpuSampler {
  private lastTotal: { busy: number; all: number } | undefined;
  private lastOwn = new Map<number, number>();

  constructor(private readonly o: CpuSamplerOptions) {}

  /** Share of the whole machine (0..1) used by other processes since the previous call. */
  sample(): number {
    const cpus = (this.o.cpus ?? os.cpus)();
    let busy = 0;
    let all = 0;
    for (const { times: t } of cpus) {
      busy += t.user + t.nice + t.sys + t.irq;
      all += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    const own = this.ownDelta();
    const prev = this.lastTotal;
    this.lastTotal = { busy, all };
    if (!prev || all <= prev.all) return 0;
    return Math.min(1, Math.max(0, (busy - prev.busy - own) / (all - prev.all)));
  }

  private ownDelta(): number {
    const read = this.o.pidCpuMs ?? ((pid: number) => readCpuMs(pid, true));
    const next = new Map<number, number>();
    let delta = 0;
    for (const pid of new Set(this.o.ownPids())) {
      const ms = read(pid);
      if (ms === undefined) continue;
      next.set(pid, ms);
      // A process new since the last sample ran (nearly) all its CPU time in this interval.
      delta += Math.max(0, ms - (this.lastOwn.get(pid) ?? 0));
    }
    this.lastOwn = next;
    return delta;
  }
}

/** True when the machine has a mains supply and it is offline (Linux sysfs); false when unknown. */
export function onBatteryLinux(root = '/sys/class/power_supply'): boolean {
  if (process.platform !== 'linux') return false;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return false;
  }
  const mains = names.flatMap((n) => {
    try {
      if (readFileSync(path.join(root, n, 'type'), 'utf8').trim() !== 'Mains') return [];
      return [readFileSync(path.join(root, n, 'online'), 'utf8').trim() === '1'];
    } catch {
      return [];
    }
  });
  return mains.length > 0 && !mains.some(Boolean);
}

export type SensorSample = Pick<
  PolicySample,
  'programs' | 'fullScreen' | 'cpuCelsius' | 'cpuSensor' | 'unknown'
>;

export interface SensorOptions {
  /** @defaultValue this platform's lister */
  programs?: ProgramLister;
  /** Undefined: there is no desktop to ask (headless). */
  fullScreen?: FullScreenProbe;
  /** @defaultValue readCpuTemperature of /sys */
  temperature?: () => TemperatureReading;
}

/** Running programs, full-screen window and CPU temperature, each with why when it cannot tell. */
export function sensorSample(o: SensorOptions = {}): () => SensorSample {
  const programs = o.programs ?? programLister();
  const temperature = o.temperature ?? (() => readCpuTemperature());
  return () => {
    const p = programs.list();
    const f = o.fullScreen?.read() ?? { unknown: 'no desktop session (headless contributor)' };
    const t = temperature();
    const unknown = {
      ...('unknown' in p ? { programs: p.unknown } : {}),
      ...('unknown' in f ? { fullScreen: f.unknown } : {}),
      ...('unknown' in t ? { temperature: t.unknown } : {}),
    };
    return {
      ...('names' in p ? { programs: p.names } : {}),
      ...('on' in f ? { fullScreen: f.on } : {}),
      ...('celsius' in t ? { cpuCelsius: t.celsius, cpuSensor: t.sensor } : {}),
      ...(Object.keys(unknown).length ? { unknown } : {}),
    };
  };
}

/** Sampler of a machine without a desktop session: no idle signal, so CPU load, programs, heat. */
export function headlessSample(
  cpu: OtherCpuSampler,
  sensors: () => SensorSample = sensorSample(),
): () => Omit<PolicySample, 'now'> {
  return () => ({ otherCpuLoad: cpu.sample(), onBattery: onBatteryLinux(), ...sensors() });
}
