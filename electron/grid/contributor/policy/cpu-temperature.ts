// CPU temperature where the operating system exposes it: Linux sysfs, thermal zones (x86_pkg_temp,
// cpu*, acpitz) and hwmon chips (coretemp, k10temp, …). The sysfs root is a parameter so tests
// lay out fake files; elsewhere it says that there is no sensor to read.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type TemperatureReading = { celsius: number; sensor: string } | { unknown: string };

/** hwmon chips that measure the CPU package or its cores. */
const CPU_HWMON = ['coretemp', 'k10temp', 'zenpower', 'cpu_thermal', 'cpu-thermal', 'soc_thermal'];

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Millidegrees as sysfs writes them; undefined when missing or not a plausible CPU reading. */
function celsius(text: string | undefined): number | undefined {
  const v = Number(text) / 1000;
  return text !== undefined && text !== '' && Number.isFinite(v) && v > -40 && v < 150
    ? v
    : undefined;
}

interface Candidate {
  rank: number;
  celsius: number;
  sensor: string;
}

function thermalZones(root: string): Candidate[] {
  const dir = path.join(root, 'class/thermal');
  return list(dir)
    .filter((n) => n.startsWith('thermal_zone'))
    .flatMap((zone) => {
      const type = read(path.join(dir, zone, 'type')) ?? '';
      const rank = type === 'x86_pkg_temp' ? 0 : /cpu/i.test(type) ? 2 : type === 'acpitz' ? 3 : -1;
      const c = celsius(read(path.join(dir, zone, 'temp')));
      return rank >= 0 && c !== undefined
        ? [{ rank, celsius: c, sensor: `${zone} (${type})` }]
        : [];
    });
}

function hwmonChips(root: string): Candidate[] {
  const dir = path.join(root, 'class/hwmon');
  return list(dir).flatMap((chip) => {
    const name = read(path.join(dir, chip, 'name')) ?? '';
    if (!CPU_HWMON.includes(name)) return [];
    // The hottest input: the package, or the hottest core where there is no package reading.
    const temps = list(path.join(dir, chip))
      .filter((f) => /^temp\d+_input$/.test(f))
      .map((f) => celsius(read(path.join(dir, chip, f))))
      .filter((c): c is number => c !== undefined);
    return temps.length
      ? [{ rank: 1, celsius: Math.max(...temps), sensor: `${chip} (${name})` }]
      : [];
  });
}

/** The CPU's temperature: the best-ranked sensor, the hottest of that rank. */
export function readCpuTemperature(
  sysRoot = '/sys',
  platform: NodeJS.Platform = process.platform,
): TemperatureReading {
  if (platform !== 'linux')
    return { unknown: 'this operating system does not expose the CPU temperature to programs' };
  const all = [...thermalZones(sysRoot), ...hwmonChips(sysRoot)];
  if (all.length === 0)
    return { unknown: 'no CPU temperature sensor found (thermal zones, hwmon)' };
  const best = Math.min(...all.map((c) => c.rank));
  const top = all.filter((c) => c.rank === best).sort((a, b) => b.celsius - a.celsius)[0]!;
  return { celsius: Math.round(top.celsius * 10) / 10, sensor: top.sensor };
}
