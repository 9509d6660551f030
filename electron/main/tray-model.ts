// The tray icon and menu as plain data, from the manager's status, the policy's decision and the
// clock; main.ts only turns it into an Electron Menu. Tested under Node without Electron.
import type { AppMode } from '../../shared/app-settings.js';
import type { PolicyDecision } from '../../shared/owner-policy.js';

export type TrayIcon = 'idle' | 'working' | 'paused' | 'disconnected';
export type TrayAction =
  'pause-1h' | 'pause-until-tomorrow' | 'pause-until-resumed' | 'resume' | 'open-panel' | 'quit';

export type TrayItem =
  | { type: 'separator' }
  | { type: 'label'; label: string }
  | { type: 'action'; label: string; action: TrayAction; enabled: boolean };

export interface TrayModel {
  icon: TrayIcon;
  tooltip: string;
  items: TrayItem[];
}

export interface TrayInput {
  mode: AppMode;
  /** The contributor manager's status; undefined before it started. */
  manager?: { connected: boolean; running: { progress?: number }[]; coordinator?: string };
  decision?: PolicyDecision;
  /** The mode while the owner uses the machine, in words (describeWhenActive). */
  whenActive?: string;
  /** Coordinator mode: contributors connected. */
  contributors?: number;
  /** Why the mode is not running (e.g. the coordinator's certificate did not match). */
  error?: string;
  now: number;
}

const SEP: TrayItem = { type: 'separator' };

export function trayModel(x: TrayInput): TrayModel {
  if (x.error) {
    const line = `Not running: ${x.error}`;
    return {
      icon: 'disconnected',
      tooltip: `Colony — ${line}`,
      items: [
        label(line),
        SEP,
        open(x.mode === 'coordinator' ? 'Open Colony' : 'Open panel'),
        SEP,
        quit(),
      ],
    };
  }
  if (x.mode === 'coordinator') {
    const n = x.contributors ?? 0;
    const line = `Coordinating: ${n} contributor${n === 1 ? '' : 's'} connected`;
    return {
      icon: n > 0 ? 'working' : 'idle',
      tooltip: `Colony — ${line}`,
      items: [label(line), SEP, open('Open Colony'), SEP, quit()],
    };
  }
  const d = x.decision;
  const running = x.manager?.running.length ?? 0;
  const icon = iconOf(x, running);
  const status =
    icon === 'disconnected' ? 'Not connected to a coordinator' : (d?.reason ?? 'Starting…');
  const snoozed = d?.cause === 'snooze';
  const items: TrayItem[] = [label(status)];
  if (running > 0 && icon !== 'disconnected') {
    // Throttled: the first `runLimit` run, the others are held suspended.
    const held = d?.suspend ? running : Math.max(0, running - (d?.runLimit ?? running));
    const going = running - held;
    items.push(
      label(
        going === 0
          ? `Holding ${tasks(running)}`
          : held > 0
            ? `Running ${tasks(going)}, holding ${held}`
            : `Running ${tasks(running)}`,
      ),
    );
  }
  if (x.whenActive) items.push(label(x.whenActive));
  items.push(
    SEP,
    action('Pause for 1 hour', 'pause-1h', !snoozed),
    action('Pause until tomorrow', 'pause-until-tomorrow', !snoozed),
    action('Pause until I resume', 'pause-until-resumed', !snoozed),
    action('Resume', 'resume', snoozed),
    SEP,
    open('Open panel'),
    SEP,
    quit(),
  );
  return { icon, tooltip: `Colony — ${status}`, items };
}

function iconOf(x: TrayInput, running: number): TrayIcon {
  if (!x.manager?.connected) return 'disconnected';
  const state = x.decision?.state ?? 'working';
  switch (state) {
    case 'paused':
      return 'paused';
    case 'idle':
      return 'idle';
    case 'working':
      return running > 0 ? 'working' : 'idle';
    default: {
      const never: never = state;
      throw new Error(`unknown policy state ${String(never)}`);
    }
  }
}

const tasks = (n: number) => `${n} task${n === 1 ? '' : 's'}`;
const label = (text: string): TrayItem => ({ type: 'label', label: text });
const action = (text: string, a: TrayAction, enabled = true): TrayItem => ({
  type: 'action',
  label: text,
  action: a,
  enabled,
});
const open = (text: string) => action(text, 'open-panel');
const quit = () => action('Quit Colony', 'quit');
