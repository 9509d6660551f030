// "Is a full-screen window in front?", one probe interface over the desktops that tell: X11
// (`xprop`: _NET_WM_STATE_FULLSCREEN of _NET_ACTIVE_WINDOW) and Windows (SHQueryUserNotificationState
// through koffi, an FFI with prebuilt binaries: no native build). Elsewhere it says why it cannot.
import { BackgroundQuery, runCommand, type RunCommand } from './program-list.js';

export type FullScreenReading = { on: boolean } | { unknown: string };

export interface FullScreenProbe {
  read(): FullScreenReading;
}

/** The window id in `xprop -root _NET_ACTIVE_WINDOW` output; undefined when there is none. */
export function parseActiveWindow(out: string): string | undefined {
  const m = /window id # (0x[0-9a-f]+)/i.exec(out);
  return m?.[1] && !/^0x0+$/i.test(m[1]) ? m[1] : undefined;
}

/** Whether `xprop -id W _NET_WM_STATE` lists the full-screen state. */
export function hasFullScreenState(out: string): boolean {
  return /\b_NET_WM_STATE_FULLSCREEN\b/.test(out);
}

/** X11 through xprop; needs DISPLAY. */
export function x11FullScreen(
  env: NodeJS.ProcessEnv = process.env,
  exec: RunCommand = runCommand,
): FullScreenProbe {
  if (!env.DISPLAY)
    return {
      read: () => ({
        unknown: env.WAYLAND_DISPLAY
          ? 'Wayland does not tell other programs which window is in front'
          : 'no X11 display (DISPLAY is not set)',
      }),
    };
  const q = new BackgroundQuery(async () => {
    const win = parseActiveWindow(await exec('xprop', ['-root', '_NET_ACTIVE_WINDOW']));
    if (!win) return false;
    return hasFullScreenState(await exec('xprop', ['-id', win, '_NET_WM_STATE']));
  }, 'checking…');
  return {
    read: () => {
      const r = q.read();
      return 'value' in r ? { on: r.value } : { unknown: r.unknown };
    },
  };
}

/** SHQueryUserNotificationState answers; busy, full-screen Direct3D and presentation mode count. */
export const QUNS = {
  NOT_PRESENT: 1,
  BUSY: 2,
  RUNNING_D3D_FULL_SCREEN: 3,
  PRESENTATION_MODE: 4,
  ACCEPTS_NOTIFICATIONS: 5,
  QUIET_TIME: 6,
  APP: 7,
} as const;

export function qunsIsFullScreen(state: number): boolean {
  return (
    state === QUNS.BUSY ||
    state === QUNS.RUNNING_D3D_FULL_SCREEN ||
    state === QUNS.PRESENTATION_MODE
  );
}

/** Calls SHQueryUserNotificationState; returns the QUNS value or throws. */
export type QueryNotificationState = () => number;

/** Loads shell32's SHQueryUserNotificationState through koffi (Windows only). */
export async function loadQueryNotificationState(): Promise<QueryNotificationState> {
  const koffi = (await import('koffi')).default;
  const shell32 = koffi.load('shell32.dll');
  const fn = shell32.func('long __stdcall SHQueryUserNotificationState(_Out_ int *pquns)');
  return () => {
    const out = [0];
    const hr = fn(out) as number;
    if (hr !== 0)
      throw new Error(`SHQueryUserNotificationState failed (0x${(hr >>> 0).toString(16)})`);
    return out[0]!;
  };
}

/** Windows: the query is loaded once in the background, then called on each read (it is cheap). */
export function windowsFullScreen(
  load: () => Promise<QueryNotificationState> = loadQueryNotificationState,
): FullScreenProbe {
  let query: QueryNotificationState | undefined;
  let why = 'checking…';
  load().then(
    (q) => (query = q),
    (err: unknown) => (why = `the Windows query could not be loaded: ${(err as Error).message}`),
  );
  return {
    read: () => {
      if (!query) return { unknown: why };
      try {
        return { on: qunsIsFullScreen(query()) };
      } catch (err) {
        return { unknown: (err as Error).message };
      }
    },
  };
}

/** The probe of this platform. */
export function fullScreenProbe(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): FullScreenProbe {
  if (platform === 'win32') return windowsFullScreen();
  if (platform === 'linux' || platform === 'freebsd' || platform === 'openbsd')
    return x11FullScreen(env);
  return {
    read: () => ({
      unknown: `this computer (${platform === 'darwin' ? 'macOS' : platform}) does not tell which window is in front`,
    }),
  };
}
