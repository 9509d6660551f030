// The `colony` command line (docs/cli.md): parses arguments with commander and maps errors to exit codes.
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { ContributorInfo, JobSummary } from '../../shared/api.js';
import type { PairingRequest } from '../grid/coordinator/access/credentials.js';
import { ColonyError, type ErrorCode } from '../../shared/errors.js';
import { loadOrCreateIdentity, rotate } from '../grid/trust/identity.js';
import { formatJoinToken } from '../grid/trust/join-token.js';
import { loadOrCreateCertificate } from '../grid/trust/certificate.js';
import { hostname } from 'node:os';
import { clientFrom, defaultDataDir, packageVersion, type ClientFlags } from './context.js';
import { prepareJob } from './job-loader.js';
import { describeErrors, describeJob, jobRow, table } from './output.js';
import { allTasks, fetchOutputs, listTasks, showLogs } from './job-commands.js';
import type { TaskRow } from '../../shared/api.js';
import { registerPeopleCommands } from './people-commands.js';
import { registerFleetCommands } from './fleet-commands.js';
import { runContributor, runCoordinator, runDemo, runUp, waitForJob } from './run-commands.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

const EXIT_BY_CODE: Partial<Record<ErrorCode, number>> = {
  BAD_INPUT: EXIT.usage,
  NOT_FOUND: EXIT.usage,
  TOO_LARGE: EXIT.usage,
  QUOTA_EXCEEDED: EXIT.usage,
  TOO_MANY_REQUESTS: EXIT.unreachable,
  BLOB_HASH_MISMATCH: EXIT.usage,
  BLOB_MISSING: EXIT.usage,
  UNAUTHORIZED: EXIT.unreachable,
  FORBIDDEN: EXIT.unreachable,
  UNREACHABLE: EXIT.unreachable,
};

type Flags = ClientFlags & { json?: boolean };

function print(flags: Flags, json: unknown, text: () => string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json, null, 2)}\n` : `${text()}\n`);
}

function withClientOptions(cmd: Command): Command {
  return cmd
    .option('--coordinator <url>', 'coordinator URL (else COLONY_URL, else the local data dir)')
    .option('--token <token>', 'your token (else COLONY_TOKEN, else the local admin token)')
    .option(
      '--fingerprint <sha256>',
      'coordinator certificate to trust (else COLONY_FINGERPRINT, else the local data dir)',
    )
    .option('--data <dir>', 'local data directory', undefined)
    .option('--json', 'print JSON');
}

/** `Examples:` after a command's help. */
function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}

const KEEP_DAYS_HELP =
  'delete finished and cancelled jobs (and blobs only they used) this many days after they end';
const LOG_FORMAT = new Option('--log-format <format>', 'terminal log lines: pretty or json')
  .choices(['pretty', 'json'])
  .default('pretty');

/** The first failed tasks of a job, for the end of `submit --wait`. */
async function firstErrors(
  client: ReturnType<typeof clientFrom>,
  job: JobSummary,
): Promise<string> {
  if (job.counts.failed === 0) return '';
  const failed: TaskRow[] = [];
  for await (const t of allTasks(client, job.id, 'failed')) {
    failed.push(t);
    if (failed.length >= 5) break;
  }
  return describeErrors(failed, job.counts.failed);
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
    .option('--max-store-gb <gb>', 'quota of the blob store (job files, inputs, outputs)', '20')
    .option('--usage-half-life <hours>', "fair share: half-life of a user's past usage", '24')
    .option('--keep-days <days>', KEEP_DAYS_HELP)
    .option(
      '--joins-per-minute <n>',
      'joins and pairing requests taken from one address per minute (more for many machines behind one NAT)',
      '30',
    )
    .addOption(
      new Option('--retention-every <ms>', 'look for old finished jobs this often')
        .argParser((v) => Number(v))
        .hideHelp(),
    )
    .addOption(LOG_FORMAT)
    .addOption(
      new Option('--snapshot-every <records>', 'snapshot after this many journal records')
        .argParser((v) => Number(v))
        .hideHelp(),
    )
    .addOption(
      new Option(
        '--fail-stop-after <ms>',
        'after a store failure, serve reads this long, then stop',
      )
        .argParser((v) => Number(v))
        .hideHelp(),
    )
    .action(
      run(
        (o: {
          data?: string;
          host: string;
          port: string;
          name?: string;
          maxStoreGb: string;
          usageHalfLife?: string;
          snapshotEvery?: number;
          failStopAfter?: number;
          logFormat?: string;
        }) => runCoordinator(o),
      ),
    );
  examples(p.commands[p.commands.length - 1] as Command, [
    'colony coordinator                         # 127.0.0.1:7070, data in ~/.colony',
    'colony coordinator --host 0.0.0.0 --port 7070 --name render-farm',
    'colony coordinator --log-format json 2>coordinator.log',
  ]);

  p.command('contributor')
    .description("volunteer this machine's idle CPU")
    .option('--join <token>', 'join token from `colony token join`')
    .option('--coordinator <url>', 'coordinator URL (else the address in the join token)')
    .option('--data <dir>', 'data directory')
    .option('--workers <n>', 'worker processes (default: cores - 1)')
    .option('--allow-commands', 'also run `command` jobs (programs on this machine)')
    .option('--allow-network', 'let jobs that declare `network: true` use the network')
    .option('--require-sandbox', 'refuse to start without the operating-system sandbox')
    .option('--no-sandbox', 'run tasks under the permission model only (weaker; for testing)')
    .option(
      '--task-memory <MiB>',
      'memory each task may use, its JavaScript heap half of it (default 2048)',
    )
    .option('--heartbeat <ms>', 'heartbeat interval promised to the coordinator', '2000')
    .option(
      '--policy <file>',
      'owner policy (JSON/YAML, docs/owner-policy.md): CPU load, schedule, busy programs, heat',
    )
    .option(
      '--tags <list>',
      'comma-separated tags: its groups on the coordinator unless an admin sets others',
    )
    .option('--no-mdns', 'do not look for the coordinator over mDNS')
    .option('--interface <ip>', 'the network interface (its IP) mDNS uses')
    .option('--no-panel', 'do not serve the owner panel on 127.0.0.1')
    .option(
      '--log-bytes <bytes>',
      "bytes of each task's stdout, stderr and ctx.log kept with its result",
      String(1024 * 1024),
    )
    .addOption(LOG_FORMAT)
    .action(run((o: Parameters<typeof runContributor>[0]) => runContributor(o)));
  examples(p.commands[p.commands.length - 1] as Command, [
    "colony contributor --join 'colony1....'            # from `colony token join`",
    'colony contributor --join "$TOKEN" --workers 3 --allow-commands',
    'colony contributor --coordinator https://10.0.0.5:7070 --no-mdns   # ask to pair',
    'colony contributor --join "$TOKEN" --log-bytes 262144 --log-format json',
  ]);

  p.command('up')
    .description('coordinator + contributor on this machine (127.0.0.1, or the LAN with --lan)')
    .option('--data <dir>', 'data directory')
    .option('--port <port>', 'port', '7070')
    .option('--workers <n>', 'worker processes (default: cores - 1)')
    .option('--lan', 'listen on every interface and advertise over mDNS, so other machines join')
    .option('--interface <ip>', 'with --lan: the network interface (its IP) mDNS uses')
    .option('--name <name>', 'with --lan: the coordinator name advertised')
    .option('--keep-days <days>', KEEP_DAYS_HELP)
    .addOption(LOG_FORMAT)
    .action(run((o: Parameters<typeof runUp>[0]) => runUp(o)));
  examples(p.commands[p.commands.length - 1] as Command, [
    'colony up                      # then open the GUI address it prints',
    'colony up --port 7071 --workers 2 --data /tmp/colony',
    'colony up --lan                # other machines join with the token it prints',
  ]);

  p.command('demo')
    .description('run a bundled sample job on this machine and print its results')
    .option('--data <dir>', 'keep the data here (default: a temporary directory)')
    .option('--workers <n>', 'worker processes (default: cores - 1)')
    .action(run((o: { data?: string; workers?: string }) => runDemo(o)));
  examples(p.commands[p.commands.length - 1] as Command, [
    'colony demo',
    'colony demo --workers 1 > primes.ndjson',
  ]);

  examples(
    withClientOptions(p.command('submit').argument('<jobfile>').description('submit a job file'))
      .option('--wait', 'wait for the job to finish, showing progress; exit 1 if it failed')
      .action(
        run(async (file: string, o: Flags & { wait?: boolean }) => {
          const client = clientFrom(o);
          const spec = await prepareJob(client, resolve(file), process.env.USER);
          let job = await client.json<JobSummary>('POST', '/jobs', spec);
          if (!o.wait) {
            print(o, job, () => job.id);
            return EXIT.ok;
          }
          // The id first, so that after Ctrl-C you still know which job it was.
          (o.json ? process.stderr : process.stdout).write(
            `submitted job ${job.id} (${job.taskCount} tasks); colony job ${job.id} shows it\n`,
          );
          job = await waitForJob(client, job.id, process.stderr);
          const errors = await firstErrors(client, job);
          print(o, job, () => [describeJob(job), ...(errors ? [errors] : [])].join('\n'));
          if (o.json && errors) process.stderr.write(`${errors}\n`);
          return job.state === 'succeeded' ? EXIT.ok : EXIT.failed;
        }),
      ),
    [
      'colony submit job.yaml                 # prints the job id',
      'colony submit job.yaml --wait          # progress, then the summary and first errors',
      'colony submit job.yaml --wait --json > job.json',
    ],
  );

  const jobs = withClientOptions(p.command('jobs').description('list jobs'))
    .option('--mine', 'only the jobs I submitted (the user of my token)')
    .option('--owner <name>', "only this person's jobs")
    .action(
      run(async (o: Flags & { mine?: boolean; owner?: string }) => {
        const client = clientFrom(o);
        if (o.mine && o.owner !== undefined)
          throw new ColonyError('BAD_INPUT', 'give --mine or --owner, not both');
        const owner = o.mine
          ? ((await client.json<{ user: string | null }>('GET', '/whoami')).user ?? undefined)
          : o.owner;
        const q = owner === undefined ? '' : `?owner=${encodeURIComponent(owner)}`;
        const list = await client.json<JobSummary[]>('GET', `/jobs${q}`);
        print(o, list, () => table(list.map(jobRow)));
      }),
    );

  withClientOptions(
    jobs
      .command('delete')
      .argument('<id>')
      .description(
        'delete a finished or cancelled job: its tasks, results and the blobs only it used',
      ),
  ).action(
    // The client options may land on `jobs` itself (commander): read them with the parent's.
    run(async (id: string, _o: Flags, cmd: Command) => {
      const o = cmd.optsWithGlobals<Flags>();
      const done = await clientFrom(o).json<{ id: string; removedBlobs: number }>(
        'DELETE',
        `/jobs/${encodeURIComponent(id)}`,
      );
      print(
        o,
        done,
        () => `deleted ${done.id} (${done.removedBlobs} blob files no other job used removed)`,
      );
    }),
  );

  registerPeopleCommands(p, withClientOptions, run);

  withClientOptions(p.command('job').argument('<id>').description('show a job')).action(
    run(async (id: string, o: Flags) => {
      const client = clientFrom(o);
      const job = await client.json<JobSummary>('GET', `/jobs/${encodeURIComponent(id)}`);
      const errors = o.json ? '' : await firstErrors(client, job);
      print(o, job, () => [describeJob(job), ...(errors ? [errors] : [])].join('\n'));
      return job.state === 'failed' ? EXIT.failed : EXIT.ok;
    }),
  );

  examples(
    withClientOptions(
      p.command('tasks').argument('<job>').description("list a job's tasks, one line each"),
    )
      .option(
        '--state <state>',
        'only tasks in this state (pending, running, succeeded, failed, …)',
      )
      .action(
        run(async (id: string, o: Flags & { state?: string }) =>
          listTasks(clientFrom(o), id, o, process.stdout),
        ),
      ),
    [
      'colony tasks j1abc                      # TASK STATE TRIES CONTRIBUTOR WALL ERROR',
      'colony tasks j1abc --state failed',
      'colony tasks j1abc --json | jq .error   # one JSON task per line',
    ],
  );

  examples(
    withClientOptions(
      p
        .command('logs')
        .argument('<job>')
        .argument('<task>', 'task number')
        .description("a task attempt's stdout, stderr and ctx.log lines"),
    )
      .option('--attempt <k>', 'which attempt (1, 2, …); default the latest')
      .option('--stream <name>', 'only stdout, stderr or log, exactly as written')
      .option('--follow', 'keep printing live lines until the attempt ends')
      .action(
        run(
          async (
            id: string,
            task: string,
            o: Flags & { attempt?: string; follow?: boolean; stream?: string },
          ) => showLogs(clientFrom(o), id, task, o, process.stdout),
        ),
      ),
    [
      'colony logs j1abc 7',
      'colony logs j1abc 7 --attempt 1 --stream stderr',
      'colony logs j1abc 7 --stream stdout > frame7.txt',
      'colony logs j1abc 7 --follow',
    ],
  );

  examples(
    withClientOptions(
      p
        .command('outputs')
        .argument('<job>')
        .description("download a job's output files to DIR/<task>/<name>, checked by sha256"),
    )
      .option('--task <n>', 'only this task')
      .option('--out <dir>', 'where to write (default ./<job>-outputs)')
      .action(
        run(async (id: string, o: Flags & { task?: string; out?: string }) =>
          fetchOutputs(clientFrom(o), id, o, process.stdout),
        ),
      ),
    [
      'colony outputs j1abc --out frames       # frames/0/out/frame.png, frames/1/…',
      'colony outputs j1abc --task 12',
      'colony outputs j1abc --out frames       # again: files already there are skipped',
    ],
  );

  examples(
    withClientOptions(
      p.command('retry').argument('<job>').description("re-run a job's failed tasks"),
    ).action(
      run(async (id: string, o: Flags) => {
        const client = clientFrom(o);
        const before = await client.json<JobSummary>('GET', `/jobs/${encodeURIComponent(id)}`);
        const job = await client.json<JobSummary>('POST', `/jobs/${encodeURIComponent(id)}/retry`);
        print(o, job, () =>
          before.counts.failed === 0
            ? `job ${job.id} has no failed task to re-run`
            : `re-running ${before.counts.failed} failed task${before.counts.failed === 1 ? '' : 's'} of job ${job.id} (now ${job.state})`,
        );
      }),
    ),
    ['colony retry j1abc && colony job j1abc'],
  );

  examples(
    withClientOptions(
      p
        .command('priority')
        .argument('<job>')
        .argument('<priority>', 'higher runs first, -1000 to 1000')
        .description("change a job's priority"),
    ).action(
      run(async (id: string, value: string, o: Flags) => {
        const priority = Number(value);
        if (!/^-?\d+$/.test(value) || Math.abs(priority) > 1000)
          throw new ColonyError(
            'BAD_INPUT',
            `priority: ${value} is not a whole number from -1000 to 1000`,
          );
        const job = await clientFrom(o).json<JobSummary>(
          'POST',
          `/jobs/${encodeURIComponent(id)}/priority`,
          { priority },
        );
        print(o, job, () => `job ${job.id} now has priority ${job.priority}`);
      }),
    ),
    ['colony priority j1abc 10     # ahead of priority-0 jobs', 'colony priority j1abc -5'],
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
      // Pairing requests are an admin's business: a viewer or submitter sees the machines only.
      const pairing = await client
        .json<PairingRequest[]>('GET', '/pairing')
        .catch((err: unknown) => {
          if (err instanceof ColonyError && err.code === 'FORBIDDEN') return [];
          throw err;
        });
      const pending = pairing.filter((r) => r.state === 'pending');
      print(o, list, () =>
        [
          table(
            list.map((c) => ({
              id: c.id,
              name: c.name,
              state: c.fleet ? `${c.state} (${c.fleet})` : c.state,
              groups: (c.groups ?? []).join(','),
              slots: `${c.slotsInUse}/${c.caps?.slots ?? 0}`,
              isolation: c.isolation ?? '',
              version: c.version ?? '',
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

  registerFleetCommands(contributors, withClientOptions, run);

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
  for (const cmd of p.commands) {
    const lines = MORE_EXAMPLES[cmd.name()];
    if (lines) examples(cmd, lines);
  }
  return p;
}

const MORE_EXAMPLES: Record<string, string[]> = {
  jobs: [
    'colony jobs',
    'colony jobs --json | jq -r \'.[] | select(.state == "failed") | .id\'',
    'colony jobs delete j1abc    # a finished or cancelled job, with its results',
  ],
  job: ['colony job j1abc            # exit 1 if the job failed', 'colony job j1abc --json'],
  cancel: ['colony cancel j1abc'],
  results: ['colony results j1abc > results.ndjson', 'colony results j1abc --out results.ndjson'],
  contributors: [
    'colony contributors',
    'colony contributors approve 3f2c…   # a pairing request',
    'colony contributors revoke 3f2c…    # disconnects it, re-queues its work',
    'colony contributors group 3f2c…,9a1b… lab          # set groups',
    'colony contributors policy --group lab lab.yaml --lock maxWorkers,schedule --reason "lab hours"',
    'colony contributors drain --group lab               # finish running tasks, take no new ones',
    'colony contributors resume --group lab',
  ],
  token: [
    'colony token join                       # for `colony contributor --join`',
    'colony token join --address 10.0.0.5:7070',
    'colony token admin --rotate             # the old admin token stops working',
  ],
};

/** A port that cannot be listened on, as a sentence with the fix; undefined for other errors. */
export function listenProblem(err: unknown): string | undefined {
  const e = err as { code?: unknown; port?: unknown; address?: unknown };
  const port = typeof e.port === 'number' ? e.port : undefined;
  if (e.code === 'EADDRINUSE')
    return `port ${port ?? '?'} is in use (another coordinator, or another program, listens there); pass --port with a free port, or stop the other one`;
  if (e.code === 'EACCES' && port !== undefined)
    return `port ${port} needs administrator rights on this system; pass --port with a number above 1023 (7070 is Colony's usual port)`;
  if (e.code === 'EADDRNOTAVAIL')
    return `this machine has no address ${typeof e.address === 'string' ? e.address : ''}; pass --host with one of its addresses, or 0.0.0.0 for all`;
  return undefined;
}

/** Run the CLI; resolves with the exit code (docs/cli.md). */
export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  try {
    await program((c) => (code = c)).parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const listen = listenProblem(err);
    if (listen) {
      process.stderr.write(`colony: ${listen}\n`);
      return EXIT.usage;
    }
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
