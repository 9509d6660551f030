// The owner policy's sensors: CPU temperature from a fake sysfs laid out in a temp dir, running
// programs from the real /proc (a renamed copy of sleep) and from tasklist/ps output, and the
// full-screen probes with their OS queries replaced by labelled test doubles (no X server or
// Windows here). Each says why when it cannot tell.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCpuTemperature } from '../../../../../electron/grid/contributor/policy/cpu-temperature.js';
import {
  fullScreenProbe,
  hasFullScreenState,
  parseActiveWindow,
  QUNS,
  windowsFullScreen,
  x11FullScreen,
} from '../../../../../electron/grid/contributor/policy/fullscreen-probe.js';
import {
  parsePsComm,
  parseTasklistCsv,
  procNames,
  programLister,
} from '../../../../../electron/grid/contributor/policy/program-list.js';
import { sensorSample } from '../../../../../electron/grid/contributor/policy/policy-sampler.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'colony-sensors-'));
  dirs.push(d);
  return d;
}
function files(root: string, tree: Record<string, string>): string {
  for (const [f, text] of Object.entries(tree)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  return root;
}

describe('CPU temperature from sysfs', () => {
  it('prefers the package sensor (x86_pkg_temp) over acpitz', () => {
    const sys = files(tempDir(), {
      'class/thermal/thermal_zone0/type': 'acpitz\n',
      'class/thermal/thermal_zone0/temp': '45000\n',
      'class/thermal/thermal_zone1/type': 'x86_pkg_temp\n',
      'class/thermal/thermal_zone1/temp': '71500\n',
      'class/thermal/thermal_zone2/type': 'iwlwifi_1\n',
      'class/thermal/thermal_zone2/temp': '99000\n',
    });
    expect(readCpuTemperature(sys, 'linux')).toEqual({
      celsius: 71.5,
      sensor: 'thermal_zone1 (x86_pkg_temp)',
    });
  });

  it('reads hwmon chips (the hottest input) before cpu and acpitz zones', () => {
    const sys = files(tempDir(), {
      'class/thermal/thermal_zone0/type': 'acpitz',
      'class/thermal/thermal_zone0/temp': '40000',
      'class/hwmon/hwmon0/name': 'nvme',
      'class/hwmon/hwmon0/temp1_input': '90000',
      'class/hwmon/hwmon3/name': 'k10temp',
      'class/hwmon/hwmon3/temp1_input': '62000',
      'class/hwmon/hwmon3/temp3_input': '66250',
    });
    expect(readCpuTemperature(sys, 'linux')).toEqual({ celsius: 66.3, sensor: 'hwmon3 (k10temp)' });
    const arm = files(tempDir(), {
      'class/thermal/thermal_zone0/type': 'cpu-thermal',
      'class/thermal/thermal_zone0/temp': '55000',
      'class/thermal/thermal_zone1/type': 'acpitz',
      'class/thermal/thermal_zone1/temp': '80000',
    });
    expect(readCpuTemperature(arm, 'linux')).toMatchObject({ celsius: 55 });
  });

  it('says so where there is no sensor, or only nonsense', () => {
    expect(readCpuTemperature(tempDir(), 'linux')).toEqual({
      unknown: 'no CPU temperature sensor found (thermal zones, hwmon)',
    });
    const junk = files(tempDir(), {
      'class/thermal/thermal_zone0/type': 'acpitz',
      'class/thermal/thermal_zone0/temp': 'garbage',
      'class/hwmon/hwmon0/name': 'coretemp',
      'class/hwmon/hwmon0/temp1_input': '-273000',
    });
    expect(readCpuTemperature(junk, 'linux')).toHaveProperty('unknown');
    expect(readCpuTemperature(tempDir(), 'win32')).toEqual({
      unknown: 'this operating system does not expose the CPU temperature to programs',
    });
  });
});

describe('running programs', () => {
  it.runIf(process.platform === 'linux')(
    'lists a process under its long name from the real /proc, and not once it ended',
    async () => {
      const dir = tempDir();
      const game = path.join(dir, 'colony-sensor-game');
      copyFileSync('/bin/sleep', game);
      const child = spawn(game, ['30'], { stdio: 'ignore' });
      try {
        await new Promise((r) => child.once('spawn', r));
        const listing = procNames();
        expect('names' in listing && listing.names.has('colony-sensor-game')).toBe(true);
        // comm alone is cut to 15 characters; argv[0] and exe carry the whole name.
        expect('names' in listing && listing.names.has('colony-sensor-g')).toBe(true);
      } finally {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
      const after = procNames();
      expect('names' in after && after.names.has('colony-sensor-game')).toBe(false);
    },
  );

  it('reads a fake /proc and says why when there is none', () => {
    const proc = files(tempDir(), {
      '101/comm': 'Zoom\n',
      '101/cmdline': '/opt/zoom/zoom\0--url\0',
      '202/comm': 'bash\n',
      'self/comm': 'ignored\n',
    });
    const listing = procNames(proc);
    expect('names' in listing && [...listing.names].sort()).toEqual(['bash', 'zoom']);
    expect(procNames(path.join(proc, 'missing'))).toMatchObject({
      unknown: expect.stringMatching(/^cannot read /) as unknown,
    });
  });

  it('parses tasklist and ps output', () => {
    const csv =
      '"System Idle Process","0","Services","0","8 K"\r\n"Zoom.exe","4242","Console","1","210,000 K"\r\n';
    expect([...parseTasklistCsv(csv)]).toEqual(['system idle process', 'zoom']);
    expect([...parsePsComm('COMM\nlaunchd\nzoom.us\nMicrosoft PowerP\n')]).toEqual([
      'launchd',
      'zoom.us',
      'microsoft powerp',
    ]);
  });

  it('on Windows and macOS lists in the background and uses the latest answer', async () => {
    const calls: string[] = [];
    // Test double of execFile: answers as tasklist would.
    const lister = programLister('win32', {
      run: (cmd, args) => {
        calls.push([cmd, ...args].join(' '));
        return Promise.resolve('"obs64.exe","1","Console","1","1 K"\r\n');
      },
    });
    expect(lister.list()).toEqual({ unknown: 'tasklist: listing programs…' });
    await new Promise((r) => setTimeout(r, 0));
    expect(lister.list()).toEqual({ names: new Set(['obs64']) });
    expect(calls[0]).toBe('tasklist /fo csv /nh');
    const failing = programLister('darwin', {
      run: () => Promise.reject(new Error('spawn ps ENOENT')),
    });
    failing.list();
    await new Promise((r) => setTimeout(r, 0));
    expect(failing.list()).toEqual({ unknown: 'ps: spawn ps ENOENT' });
  });
});

describe('full-screen window', () => {
  it('reads _NET_WM_STATE_FULLSCREEN of the active X11 window', async () => {
    expect(parseActiveWindow('_NET_ACTIVE_WINDOW(WINDOW): window id # 0x3a00007\n')).toBe(
      '0x3a00007',
    );
    expect(parseActiveWindow('_NET_ACTIVE_WINDOW(WINDOW): window id # 0x0\n')).toBeUndefined();
    expect(
      hasFullScreenState('_NET_WM_STATE(ATOM) = _NET_WM_STATE_FULLSCREEN, _NET_WM_STATE_FOCUSED'),
    ).toBe(true);
    let state = '_NET_WM_STATE(ATOM) = _NET_WM_STATE_FULLSCREEN';
    // Test double of the xprop command.
    const probe = x11FullScreen({ DISPLAY: ':0' }, (_cmd, args) =>
      Promise.resolve(
        args[0] === '-root' ? '_NET_ACTIVE_WINDOW(WINDOW): window id # 0x3a00007' : state,
      ),
    );
    probe.read();
    await new Promise((r) => setTimeout(r, 0));
    expect(probe.read()).toEqual({ on: true });
    state = '_NET_WM_STATE(ATOM) = _NET_WM_STATE_MAXIMIZED_VERT';
    await new Promise((r) => setTimeout(r, 0));
    expect(probe.read()).toEqual({ on: false });
  });

  it('says why it cannot tell: no display, Wayland, xprop missing, macOS', async () => {
    expect(x11FullScreen({}).read()).toEqual({ unknown: 'no X11 display (DISPLAY is not set)' });
    expect(x11FullScreen({ WAYLAND_DISPLAY: 'wayland-0' }).read()).toEqual({
      unknown: 'Wayland does not tell other programs which window is in front',
    });
    const noXprop = x11FullScreen({ DISPLAY: ':0' }, () =>
      Promise.reject(new Error('xprop is not installed')),
    );
    noXprop.read();
    await new Promise((r) => setTimeout(r, 0));
    expect(noXprop.read()).toEqual({ unknown: 'xprop is not installed' });
    expect(fullScreenProbe('darwin', {}).read()).toEqual({
      unknown: 'this computer (macOS) does not tell which window is in front',
    });
  });

  it('on Windows counts busy, full-screen Direct3D and presentation mode', async () => {
    let quns: number = QUNS.ACCEPTS_NOTIFICATIONS;
    // Test double of SHQueryUserNotificationState (koffi cannot call shell32 here).
    const probe = windowsFullScreen(() => Promise.resolve(() => quns));
    await new Promise((r) => setTimeout(r, 0));
    expect(probe.read()).toEqual({ on: false });
    for (const q of [QUNS.BUSY, QUNS.RUNNING_D3D_FULL_SCREEN, QUNS.PRESENTATION_MODE]) {
      quns = q;
      expect(probe.read()).toEqual({ on: true });
    }
    quns = QUNS.QUIET_TIME;
    expect(probe.read()).toEqual({ on: false });
    const broken = windowsFullScreen(() => Promise.reject(new Error('shell32.dll not found')));
    await new Promise((r) => setTimeout(r, 0));
    expect(broken.read()).toEqual({
      unknown: 'the Windows query could not be loaded: shell32.dll not found',
    });
  });
});

describe('sensorSample', () => {
  it('puts readings and the reasons for missing ones into the policy sample', () => {
    const s = sensorSample({
      programs: { list: () => ({ names: new Set(['zoom']) }) },
      temperature: () => ({ unknown: 'no CPU temperature sensor found (thermal zones, hwmon)' }),
    })();
    expect(s).toEqual({
      programs: new Set(['zoom']),
      unknown: {
        fullScreen: 'no desktop session (headless contributor)',
        temperature: 'no CPU temperature sensor found (thermal zones, hwmon)',
      },
    });
  });
});
