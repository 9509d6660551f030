// The `colony` command line (SPEC §4): parses arguments with commander and maps errors to exit codes.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { ContributorInfo, JobSummary } from '../../shared/api.js';
import type { PairingRequest } from '../grid/coordinator/credentials.js';
import { ColonyError, type ErrorCode } from '../../shared/errors.js';
import { loadOrCreateIdentity, rotate } from '../grid/trust/identity.js';
import { formatJoinToken } from '../grid/trust/join-token.js';
import { loadOrCreateCertificate } from '../grid/trust/certificate.js';
import { hostname } from 'node:os';
import { clientFrom, defaultDataDir, packageRoot, type ClientFlags } from './context.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareJob } from './job-loader.js';
import { describeJob, jobRow, table } from './output.js';
import { runContributor, runCoordinator, runDemo, runUp, waitForJob } from './run-commands.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

const EXIT_BY_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_INPUT: EXIT.usage,
  NOT_FOUND: EXIT.usage,
  TOO_LARGE: EXIT.usage,
  BLOB_HASH_MISMATCH: EXIT.usage,
  BLOB_MISSING: EXIT.usage,
  UNAUTHORIZED: EXIT.unreachable,
  FORBIDDEN: EXIT.unreachable,
  UNREACHABLE: EXIT.unreachable,
};

type Flags = ClientFlags & { json?: boolean };

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function print(flags: Flags, json: unknown, text: () => string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json, null, 2)}\n` : `${text()}\n`);
}

function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--coordinator <url>', 'coordinator URL (else COLONY_URL, else the local data dir)')
    .option('--token <token>', 'admin token (else COLONY_TOKEN, else the local data dir)')
    .option(
      '--fingerprint <sha256>',
      'coordinator certificate to trust (else COLONY_FINGERPRINT, else the local data dir)',
    )
    .option('--data <dir>', 'local data directory', undefined)
    .option('--json', 'print JSON');
}

function program(setExit: (code: number) => void): Command {
  const p = new Command('colony')
    .version(packageVersion(), '-V, --version')
    .description('Colony: an office compute grid')
    .exitOverride()
    .showHelpAfterError();
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<number | void>) =>
    async (...args: A) =>
      setExit((await fn(...args)) ?? 0);

  p.command('coordinator')
    .description('run the coordinator')
    .option('--data <dir>', 'data directory')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port', '7070')
    .option('--name <name>', 'coordinator name')
    .option('--no-mdns', 'do not advertise on the LAN over mDNS')
    .option('--interface <ip>', 'the network interface (its IP) mDNS uses')
    .addOption(
      new Option('--snapshot-every <records>', 'snapshot after this many journal records')
        .argParser((v) => Number(v))
        .hideHelp(),
    )
    .action(
      run(
        (o: { data?: string; host: string; port: string; name?: string; snapshotEvery?: number }) =>
          runCoordinator(o),
      ),
    );

  p.command('contributor')
    .description("volunteer this machine's idle CPU")
    .option('--join <token>', 'join token from `colony token join`')
    .option('--coordinator <url>', 'coordinator URL (else the address in the join token)')
    .option('--data <dir>', 'data directory')
    .option('--workers <n>', 'worker processes (default: cores - 1)')
    .option('--allow-commands', 'also run `command` jobs (programs on this machine)')
    .option('--heartbeat <ms>', 'heartbeat interval promised to the coordinator', '2000')
    .option('--policy <file>', 'owner policy (JSON/YAML, SPEC §7): idle, CPU load, schedule')
    .option('--no-mdns', 'do not look for the coordinator over mDNS')
    .option('--interface <ip>', 'the network interface (its IP) mDNS uses')
    .option('--no-panel', 'do not serve the owner panel on 127.0.0.1')
    .action(run((o: Parameters<typeof runContributor>[0]) => runContributor(o)));

  p.command('up')
    .description('coordinator + contributor on this machine (127.0.0.1)')
    .option('--data <dir>', 'data directory')
    .option('--port <port>', 'port', '7070')
    .option('--workers <n>', 'worker processes (default: cores - 1)')
    .addOption(new Option('--lan', 'open to the LAN (not built yet)').hideHelp())
    .action(run((o: { data?: string; port: string; workers?: string }) => runUp(o)));

  p.command('demo')
    .description('run a bundled sample job on this machine and print its results')
    .option('--data <dir>', 'keep the data here (default: a temporary directory)')
    .option('--workers <n>', 'worker processes (default: cores - 1)')
    .action(run((o: { data?: string; workers?: string }) => runDemo(o)));

  withClientOptions(p.command('submit').argument('<jobfile>').description('submit a job file'))
    .option('--wait', 'wait for the job to finish, showing progress')
    .action(
      run(async (file: string, o: Flags & { wait?: boolean }) => {
        const client = clientFrom(o);
        const spec = await prepareJob(client, resolve(file), process.env.USER);
        let job = await client.json<JobSummary>('POST', '/jobs', spec);
        if (o.wait) job = await waitForJob(client, job.id, process.stderr);
        print(o, job, () => (o.wait ? describeJob(job) : job.id));
        return o.wait && job.state !== 'succeeded' ? EXIT.failed : EXIT.ok;
      }),
    );

  withClientOptions(p.command('jobs').description('list jobs')).action(
    run(async (o: Flags) => {
      const jobs = await clientFrom(o).json<JobSummary[]>('GET', '/jobs');
      print(o, jobs, () => table(jobs.map(jobRow)));
    }),
  );

  withClientOptions(p.command('job').argument('<id>').description('show a job')).action(
    run(async (id: string, o: Flags) => {
      const job = await clientFrom(o).json<JobSummary>('GET', `/jobs/${encodeURIComponent(id)}`);
      print(o, job, () => describeJob(job));
    }),
  );

  withClientOptions(p.command('cancel').argument('<id>').description('cancel a job')).action(
    run(async (id: string, o: Flags) => {
      const job = await clientFrom(o).json<JobSummary>(
        'POST',
        `/jobs/${encodeURIComponent(id)}/cancel`,
      );
      print(o, job, () => `cancelled ${job.id}`);
    }),
  );

  withClientOptions(p.command('results').argument('<id>').description('results as NDJSON'))
    .option('--out <file>', 'write to a file')
    .action(
      run(async (id: string, o: Flags & { out?: string }) => {
        const res = await clientFrom(o).request('GET', `/jobs/${encodeURIComponent(id)}/results`);
        const text = await res.text();
        if (o.out) await writeFile(o.out, text);
        else process.stdout.write(text);
      }),
    );

  const contributors = withClientOptions(
    p.command('contributors').description('list contributors'),
  ).action(
    run(async (o: Flags) => {
      const client = clientFrom(o);
      const list = await client.json<ContributorInfo[]>('GET', '/contributors');
      const pairing = await client.json<PairingRequest[]>('GET', '/pairing');
      const pending = pairing.filter((r) => r.state === 'pending');
      print(o, list, () =>
        [
          table(
            list.map((c) => ({
              id: c.id,
              name: c.name,
              state: c.state,
              slots: `${c.slotsInUse}/${c.caps?.slots ?? 0}`,
              policy: c.policy?.reason ?? '',
            })),
          ),
          ...(pending.length === 0
            ? []
            : [
                '\nPairing requests (colony contributors approve|deny ID):',
                table(
                  pending.map((r) => ({
                    id: r.contributorId,
                    name: r.name,
                    user: r.user ?? '',
                    key: r.fingerprint.slice(0, 16),
                  })),
                ),
              ]),
        ].join('\n'),
      );
    }),
  );
  for (const verb of ['approve', 'deny', 'revoke'] as const)
    withClientOptions(
      contributors.command(verb).argument('<id>').description(`${verb} a contributor`),
    ).action(
      run(async (id: string, _own: Flags, cmd: Command) => {
        // The parent `contributors` takes the same options; they may stand on either side.
        const o = cmd.optsWithGlobals<Flags>();
        const out = await clientFrom(o).json<unknown>(
          'POST',
          `/contributors/${encodeURIComponent(id)}/${verb}`,
        );
        print(
          o,
          out,
          () => `${verb === 'approve' ? 'approved' : verb === 'deny' ? 'denied' : 'revoked'} ${id}`,
        );
      }),
    );

  p.command('token')
    .argument('<which>', 'join | admin')
    .option('--rotate', 'make a new one (the old one stops working)')
    .option('--data <dir>', 'coordinator data directory')
    .option('--address <host:port>', 'address to put in the join token')
    .description('print (or rotate) a token, on the coordinator machine')
    .action(
      run(async (which: string, o: { rotate?: boolean; data?: string; address?: string }) => {
        if (which !== 'join' && which !== 'admin')
          throw new ColonyError('BAD_INPUT', 'token: say `join` or `admin`');
        const dataDir = o.data ? resolve(o.data) : defaultDataDir();
        const id = o.rotate
          ? await rotate(dataDir, which === 'join' ? 'joinSecret' : 'adminToken')
          : await loadOrCreateIdentity(dataDir);
        const { fingerprint } = await loadOrCreateCertificate(dataDir, hostname());
        process.stdout.write(
          which === 'admin'
            ? `${id.adminToken}\n`
            : `${formatJoinToken({ coordinatorId: id.coordinatorId, fingerprint, secret: id.joinSecret, ...(o.address ? { address: o.address } : {}) })}\n`,
        );
      }),
    );
  return p;
}

/** Run the CLI; resolves with the exit code (SPEC §4). */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await program((c) => (code = c)).parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof ColonyError) {
      process.stderr.write(`colony: ${err.message}\n`);
      return EXIT_BY_CODE[err.code] ?? EXIT.failed;
    }
    process.stderr.write(
      `colony: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return EXIT.failed;
  }
}
