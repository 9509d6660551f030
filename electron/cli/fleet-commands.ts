// The CLI's fleet commands under `colony contributors` (docs/fleet-rollout.md): groups, fleet
// policy with locked fields, remote pause / drain / resume, and one machine's fleet page.
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import YAML from 'yaml';
import { ColonyError } from '../../shared/errors.js';
import { clientFrom, type ClientFlags } from './context.js';
import { table } from './output.js';

type Flags = ClientFlags & { json?: boolean };
type Wrap = (cmd: Command) => Command;
type Run = <A extends unknown[]>(
  fn: (...args: A) => Promise<number | void>,
) => (...args: A) => Promise<void>;

const enc = encodeURIComponent;
const out = (o: Flags, json: unknown, text: () => string): void => {
  process.stdout.write(o.json ? `${JSON.stringify(json, null, 2)}\n` : `${text()}\n`);
};
const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Reads a policy file (JSON or YAML): an object of owner-policy fields. */
export async function readFleetPolicyFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ColonyError('BAD_INPUT', `${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (err) {
    throw new ColonyError('BAD_INPUT', `${file}: not JSON or YAML: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ColonyError(
      'BAD_INPUT',
      `${file}: a policy file is an object of owner-policy fields`,
    );
  return value as Record<string, unknown>;
}

interface FleetPage {
  id: string;
  groups: string[];
  tags: string[];
  groupsSetByAdmin: boolean;
  policy: {
    settings: Record<string, unknown>;
    locked: string[];
    by?: string;
    reason?: string;
  } | null;
  control: { state: string; by?: string; reason?: string };
  state: string | null;
  status: { state: string; reason: string } | null;
  reasons: { at: number; state: string; reason: string }[];
  donatedCpu: { hour: number; cpuMs: number }[];
}

export function registerFleetCommands(contributors: Command, wrap: Wrap, run: Run): void {
  const sub = (name: string) => wrap(contributors.command(name));
  const opts = (cmd: Command) => cmd.optsWithGlobals<Flags & Record<string, string>>();

  sub('group')
    .argument('<ids>', 'contributor ids, comma-separated')
    .argument('[groups]', "groups, comma-separated (they replace the machines' tags as groups)")
    .option('--clear', "back to the machines' own tags")
    .description('set the groups of one or more machines')
    .action(
      run(async (ids: string, groups: string | undefined, _o: Flags, cmd: Command) => {
        const o = opts(cmd);
        if ((groups === undefined) === !o.clear)
          throw new ColonyError('BAD_INPUT', 'group: give the groups, or --clear');
        const res = await clientFrom(o).json<{ id: string; groups: string[] }[]>(
          'POST',
          '/fleet/groups',
          { ids: list(ids), groups: o.clear ? [] : list(groups ?? '') },
        );
        out(o, res, () => table(res.map((r) => ({ id: r.id, groups: r.groups.join(',') }))));
      }),
    );

  sub('policy')
    .argument('[id]', 'a contributor id (or --group)')
    .argument('[file]', 'JSON or YAML file of owner-policy fields (docs/owner-policy.md)')
    .option('--group <group>', 'set the policy of a group')
    .option('--lock <fields>', 'comma-separated fields the owner may only make stricter')
    .option('--reason <text>', 'why, shown to the owners')
    .option('--clear', 'remove the policy')
    .description('set (or --clear) the fleet policy of a machine or a group')
    .action(
      run(async (a: string | undefined, b: string | undefined, _o: Flags, cmd: Command) => {
        const o = opts(cmd);
        // With --group, the one positional argument is the file.
        const [id, file] = o.group ? [undefined, a] : [a, b];
        if (o.group && b !== undefined)
          throw new ColonyError('BAD_INPUT', 'policy: give a contributor id or --group, not both');
        if (!o.group && !id)
          throw new ColonyError('BAD_INPUT', 'policy: give a contributor id or --group');
        const target = o.group ? { group: o.group } : { machine: id! };
        const client = clientFrom(o);
        if (o.clear) {
          const q = o.group ? `group=${enc(o.group)}` : `machine=${enc(id!)}`;
          const res = await client.json<unknown>('DELETE', `/fleet/policy?${q}`);
          return out(
            o,
            res,
            () => `fleet policy removed from ${o.group ? `group ${o.group}` : id}`,
          );
        }
        if (!file) throw new ColonyError('BAD_INPUT', 'policy: give a policy file, or --clear');
        const settings = await readFleetPolicyFile(file);
        const res = await client.json<{ machines: string[]; policy: { locked: string[] } }>(
          'PUT',
          '/fleet/policy',
          {
            ...target,
            settings,
            lock: o.lock ? list(o.lock) : [],
            ...(o.reason ? { reason: o.reason } : {}),
          },
        );
        out(
          o,
          res,
          () =>
            `fleet policy set on ${o.group ? `group ${o.group}` : id} (${res.machines.length} machine${res.machines.length === 1 ? '' : 's'}; locked: ${res.policy.locked.join(', ') || 'none'})`,
        );
      }),
    );

  for (const [verb, done] of [
    ['pause', 'paused'],
    ['drain', 'draining'],
    ['resume', 'resumed'],
  ] as const)
    sub(verb)
      .argument('[ids]', 'contributor ids, comma-separated (or --group)')
      .option('--group <group>', 'every machine in the group now')
      .option('--reason <text>', 'why, shown to the owners')
      .description(
        verb === 'drain'
          ? 'drain machines: finish running tasks, take no new ones'
          : `${verb} machines remotely`,
      )
      .action(
        run(async (ids: string | undefined, _o: Flags, cmd: Command) => {
          const o = opts(cmd);
          if ((ids === undefined) === (o.group === undefined))
            throw new ColonyError('BAD_INPUT', `${verb}: give contributor ids or --group`);
          const res = await clientFrom(o).json<{ id: string; state: string | null }[]>(
            'POST',
            `/fleet/${verb}`,
            {
              ...(o.group ? { group: o.group } : { ids: list(ids ?? '') }),
              ...(o.reason ? { reason: o.reason } : {}),
            },
          );
          out(o, res, () => `${done}: ${res.map((r) => r.id).join(', ')}`);
        }),
      );

  sub('show')
    .argument('<id>')
    .description(
      "a machine's groups, fleet policy (locked fields), remote state and recent reasons",
    )
    .action(
      run(async (id: string, _o: Flags, cmd: Command) => {
        const o = opts(cmd);
        const p = await clientFrom(o).json<FleetPage>('GET', `/contributors/${enc(id)}/fleet`);
        const cpu = p.donatedCpu.reduce((n, h) => n + h.cpuMs, 0);
        out(o, p, () =>
          [
            `groups: ${p.groups.join(', ') || 'none'}${p.groupsSetByAdmin ? ' (set by an admin)' : ' (its tags)'}`,
            `remote: ${p.state ?? 'none'}${p.control.by ? ` (by ${p.control.by}${p.control.reason ? `: ${p.control.reason}` : ''})` : ''}`,
            `policy: ${p.status ? `${p.status.state}: ${p.status.reason}` : 'not connected'}`,
            `fleet policy: ${p.policy ? JSON.stringify(p.policy.settings) : 'none'}`,
            `locked: ${p.policy?.locked.join(', ') || 'none'}`,
            `donated CPU, last 24 h: ${Math.round(cpu / 1000)} s`,
            ...(p.reasons.length
              ? [
                  'recent reasons:',
                  ...p.reasons.map(
                    (r) => `  ${new Date(r.at).toISOString()}  ${r.state}: ${r.reason}`,
                  ),
                ]
              : []),
          ].join('\n'),
        );
      }),
    );
}
