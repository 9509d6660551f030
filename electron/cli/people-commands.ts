// The CLI's people commands: users (list, add, remove, rotate a token, weight and cap) and the
// audit log.
import type { Command } from 'commander';
import { ColonyError } from '../../shared/errors.js';
import { maxShareSchema, userWeightSchema, type AuditEntry } from '../../shared/api.js';
import { table } from './output.js';
import { clientFrom, type ClientFlags } from './context.js';

type Flags = ClientFlags & { json?: boolean };
type Wrap = (cmd: Command) => Command;
type Run = <A extends unknown[]>(
  fn: (...args: A) => Promise<number | void>,
) => (...args: A) => Promise<void>;

interface UserView {
  name: string;
  role: string;
  weight: number;
  maxShare?: number | null;
  usageMs?: number;
  createdAt: number;
  tokenAt: number;
  token?: string;
}

const enc = encodeURIComponent;
const out = (o: Flags, json: unknown, text: () => string) =>
  process.stdout.write(o.json ? `${JSON.stringify(json, null, 2)}\n` : `${text()}\n`);

/**
 * `--since`: an ISO date/time (2026-12-01, 2026-12-01T09:30Z) or a span back from now (30m, 2h,
 * 7d). Anything else is a usage error naming the forms.
 */
export function parseSince(text: string, now = Date.now()): number {
  const span = /^(\d+)\s*(s|m|h|d)$/.exec(text.trim());
  if (span) {
    const unit = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[
      span[2] as 's' | 'm' | 'h' | 'd'
    ];
    return now - Number(span[1]) * unit;
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at))
    throw new ColonyError(
      'BAD_INPUT',
      `--since ${text}: give a date/time (2026-12-01, 2026-12-01T09:30Z) or a span back from now (30m, 2h, 7d)`,
    );
  return at;
}

const ROLES = ['admin', 'submitter', 'viewer'];

/** A weight (`--weight`, or the argument named `label`): above 0, at most 1000. */
function parseWeight(text: string, label = '--weight'): number {
  const weight = Number(text);
  if (!userWeightSchema.safeParse(weight).success)
    throw new ColonyError('BAD_INPUT', `${label} ${text}: a number above 0, at most 1000`);
  return weight;
}

/** `--max-share`: a fraction of the slots (0.5), a percentage (50%), or `none` for no cap. */
export function parseMaxShare(text: string): number | null {
  if (text.trim().toLowerCase() === 'none') return null;
  const pct = /^\s*([\d.]+)\s*%\s*$/.exec(text);
  const share = pct ? Number(pct[1]) / 100 : Number(text);
  if (!maxShareSchema.safeParse(share).success)
    throw new ColonyError(
      'BAD_INPUT',
      `--max-share ${text}: a share of the slots above 0 and at most 1 (0.5 or 50%), or none`,
    );
  return share;
}

const shareText = (s: number | null | undefined) =>
  s === null || s === undefined ? 'none' : `${Math.round(s * 1000) / 10}%`;

export function registerPeopleCommands(p: Command, wrap: Wrap, run: Run): void {
  const users = wrap(p.command('users').description('list the people who hold tokens')).action(
    run(async (o: Flags) => {
      const list = await clientFrom(o).json<UserView[]>('GET', '/users');
      out(o, list, () =>
        table(
          list.map((u) => ({
            name: u.name,
            role: u.role,
            weight: u.weight,
            'max share': shareText(u.maxShare),
            usage: `${Math.round((u.usageMs ?? 0) / 1000)} s`,
            created: new Date(u.createdAt).toISOString(),
            token: new Date(u.tokenAt).toISOString(),
          })),
        ),
      );
    }),
  );
  const sub = (name: string) => wrap(users.command(name));
  const opts = (cmd: Command) => cmd.optsWithGlobals<Flags & Record<string, string>>();

  sub('add')
    .argument('<name>')
    .requiredOption('--role <role>', 'admin, submitter or viewer')
    .option('--weight <w>', 'fair-share weight (default 1)')
    .option(
      '--max-share <share>',
      'cap on the slots their tasks may hold: 0.5 or 50% (default none)',
    )
    .description('add a person; prints their token once (it is stored only as a hash)')
    .action(
      run(async (name: string, _o: Flags, cmd: Command) => {
        const o = opts(cmd);
        if (!ROLES.includes(o.role as string))
          throw new ColonyError('BAD_INPUT', `--role ${o.role}: one of ${ROLES.join(', ')}`);
        const weight = o.weight === undefined ? undefined : parseWeight(o.weight);
        const maxShare = o.maxShare === undefined ? null : parseMaxShare(o.maxShare);
        const u = await clientFrom(o).json<UserView>('POST', '/users', {
          name,
          role: o.role,
          ...(weight !== undefined ? { weight } : {}),
          ...(maxShare !== null ? { maxShare } : {}),
        });
        out(o, u, () =>
          [
            `added ${u.name} (${u.role}). Their token, shown only now:`,
            u.token ?? '',
            'They use it as COLONY_TOKEN or --token.',
          ].join('\n'),
        );
      }),
    );

  sub('remove')
    .argument('<name>')
    .description('remove a person: their token stops working at once')
    .action(
      run(async (name: string, _o: Flags, cmd: Command) => {
        const o = opts(cmd);
        const r = await clientFrom(o).json<unknown>('DELETE', `/users/${enc(name)}`);
        out(o, r, () => `removed ${name}`);
      }),
    );

  sub('token')
    .argument('<name>')
    .option('--rotate', 'make a new token (the old one stops working at once)')
    .description(
      "rotate a person's token (tokens are stored hashed, so they cannot be shown again)",
    )
    .action(
      run(async (name: string, _o: Flags, cmd: Command) => {
        const o = opts(cmd);
        if (!o.rotate)
          throw new ColonyError(
            'BAD_INPUT',
            `tokens are stored only as hashes and cannot be shown again: run \`colony users token ${name} --rotate\` for a new one`,
          );
        const u = await clientFrom(o).json<UserView>('POST', `/users/${enc(name)}/token`);
        out(o, u, () =>
          [`new token for ${u.name} (the old one no longer works):`, u.token ?? ''].join('\n'),
        );
      }),
    );

  sub('weight')
    .argument('<name>')
    .argument('<weight>', 'fair-share weight: 2 gets twice the slots of 1 when both wait')
    .description("set a person's fair-share weight")
    .action(
      run(async (name: string, w: string, _o: Flags, cmd: Command) => {
        const o = opts(cmd);
        const weight = parseWeight(w, 'weight');
        const u = await clientFrom(o).json<UserView>('POST', `/users/${enc(name)}/weight`, {
          weight,
        });
        out(o, u, () => `${u.name}: weight ${u.weight}`);
      }),
    );

  sub('set')
    .argument('<name>')
    .option('--weight <w>', 'fair-share weight: 2 gets twice the slots of 1 when both wait')
    .option('--max-share <share>', 'cap on the slots their tasks may hold: 0.5, 50%, or none')
    .description("set a person's fair-share weight and cap")
    .action(
      run(async (name: string, _o: Flags, cmd: Command) => {
        const o = opts(cmd);
        if (o.weight === undefined && o.maxShare === undefined)
          throw new ColonyError('BAD_INPUT', 'give --weight, --max-share or both');
        // Both checked before either is sent: a bad one changes nothing.
        const weight = o.weight === undefined ? undefined : parseWeight(o.weight);
        const maxShare = o.maxShare === undefined ? undefined : parseMaxShare(o.maxShare);
        const client = clientFrom(o);
        let u: UserView | undefined;
        if (weight !== undefined)
          u = await client.json<UserView>('POST', `/users/${enc(name)}/weight`, { weight });
        if (maxShare !== undefined)
          u = await client.json<UserView>('POST', `/users/${enc(name)}/share`, { maxShare });
        const done = u as UserView;
        out(
          o,
          done,
          () => `${done.name}: weight ${done.weight}, max share ${shareText(done.maxShare)}`,
        );
      }),
    );

  wrap(p.command('audit').description('who changed what, when and from where (admin)'))
    .option('--since <time>', 'a date/time or a span back from now (30m, 2h, 7d)')
    .action(
      run(async (o: Flags & { since?: string }) => {
        const since = o.since === undefined ? 0 : parseSince(o.since);
        const list = await clientFrom(o).json<AuditEntry[]>(
          'GET',
          `/audit?since=${since}&limit=10000`,
        );
        out(o, list, () =>
          table(
            list.map((e) => ({
              at: new Date(e.at).toISOString(),
              user: e.user,
              role: e.role,
              action: e.action,
              target: e.target ?? '',
              status: e.status,
              from: e.address ?? '',
              detail: e.detail ?? '',
            })),
          ),
        );
      }),
    );
}
