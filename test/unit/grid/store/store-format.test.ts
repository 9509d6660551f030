// Store formats: records and snapshots say which format wrote them; an older store is migrated and
// runs, a newer one is refused with a clear message and nothing on disk changes.
import { createHash } from 'node:crypto';
import { appendFile, cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32Hex } from '../../../../electron/grid/store/crc32.js';
import { DurableDb } from '../../../../electron/grid/store/durable-db.js';
import { StoreTooNewError } from '../../../../electron/grid/store/errors.js';
import type { ApplyResult, Op } from '../../../../electron/grid/store/ops.js';
import { StoreReader } from '../../../../electron/grid/store/reader.js';
import { STORE_FORMAT } from '../../../../electron/grid/store/schema.js';
import { COORDINATOR_STORE } from '../../../../electron/grid/store/state-machine.js';
import type { JobSpec } from '../../../../shared/job-file.js';
import { useTempDir } from './helpers/temp-dir.js';

const tmp = useTempDir('colony-format-');
const FIXTURE = resolve(
  import.meta.dirname,
  '../../../fixtures/store-before-users/coordinator/store',
);

const open = (dir = tmp()) => DurableDb.open<Op, ApplyResult>({ dir, ...COORDINATOR_STORE });

const spec = {
  name: 'one',
  runtime: 'node',
  priority: 0,
  tasks: { inputs: [1] },
  limits: { timeoutSec: 60, maxAttempts: 3 },
} as unknown as JobSpec;

async function writeStore(opts: { snapshot: boolean }): Promise<void> {
  const store = await open();
  await store.commit({
    t: 'job.submit',
    job: { id: 'j1', seq: 1, spec, taskCount: 1, createdAt: 1, submittedBy: 'owner' },
  }).durable;
  await store.close(opts);
}

/** Every file of the store directory with its sha256: what "nothing changed" is checked against. */
async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      for (const [name, sha] of Object.entries(await contents(path)))
        out[`${entry.name}/${name}`] = sha;
    else
      out[entry.name] = createHash('sha256')
        .update(await readFile(path))
        .digest('hex');
  }
  return out;
}

const newest = async (dir: string, prefix: string) =>
  join(
    dir,
    (await readdir(dir))
      .filter((f) => f.startsWith(prefix))
      .sort()
      .at(-1) as string,
  );

describe('store formats', () => {
  it('writes its format into every journal record and snapshot', async () => {
    await writeStore({ snapshot: false });
    const journal = await readFile(await newest(tmp(), 'journal-'), 'utf8');
    const records = journal.trim().split('\n');
    expect(records.length).toBeGreaterThan(1);
    for (const line of records) expect(line).toContain(`"v":${STORE_FORMAT},`);
    await (await open()).close({ snapshot: true });
    const header = (await readFile(await newest(tmp(), 'snapshot-'))).subarray(0, 16);
    expect(header.readUInt32LE(12)).toBe(STORE_FORMAT);
  });

  it('refuses a journal record from a newer format, changing nothing on disk', async () => {
    await writeStore({ snapshot: false });
    // A newer Colony appended a record of a format this build does not know.
    const segment = await newest(tmp(), 'journal-');
    const lines = (await readFile(segment, 'utf8')).trim().split('\n');
    const seq = lines.length + 1;
    const json = `{"seq":${seq},"v":${STORE_FORMAT + 1},"data":{"t":"op","op":{"t":"job.vanish","jobId":"j1"}}}`;
    await appendFile(segment, `${crc32Hex(Buffer.from(json))} ${json}\n`);
    const before = await contents(tmp());

    const err = await open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreTooNewError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `written by a newer Colony \\(journal record ${seq} has store format ${STORE_FORMAT + 1}; this Colony reads formats up to ${STORE_FORMAT}\\).*Nothing was changed`,
      ),
    );
    expect(await contents(tmp())).toEqual(before);
  });

  it('refuses a snapshot of a newer format, changing nothing on disk', async () => {
    await writeStore({ snapshot: true });
    const file = await newest(tmp(), 'snapshot-');
    // As a newer Colony writes it: its store format in the header, the checksum over header and body.
    const bytes = await readFile(file);
    bytes.writeUInt32LE(STORE_FORMAT + 1, 12);
    createHash('sha256')
      .update(bytes.subarray(0, 32))
      .update(bytes.subarray(64))
      .digest()
      .copy(bytes, 32);
    await writeFile(file, bytes);
    const before = await contents(tmp());

    await expect(open()).rejects.toThrow(
      new RegExp(
        `newer Colony .*store format ${STORE_FORMAT + 1}; this Colony reads formats up to ${STORE_FORMAT}`,
      ),
    );
    // Not taken for damage: not renamed *.corrupt, no fallback to an older state.
    expect(await contents(tmp())).toEqual(before);
  });

  it('opens the store of the previous format (before formats), migrates it and runs', async () => {
    const dir = tmp();
    await cp(FIXTURE, dir, { recursive: true });
    const a = await open(dir);
    const read = StoreReader.of(a);
    const [job] = read.jobs();
    expect(job).toMatchObject({ name: 'before-users', submittedBy: null });
    expect(read.users()).toEqual([]); // the table a later release added is there
    await a.commit({ t: 'job.priority', jobId: job!.id, priority: 7 }).durable;
    await a.close({ snapshot: true });

    const header = (await readFile(await newest(dir, 'snapshot-'))).subarray(0, 16);
    expect(header.readUInt32LE(12)).toBe(STORE_FORMAT);
    const b = await open(dir);
    expect(StoreReader.of(b).job(job!.id)?.priority).toBe(7);
    expect(b.format).toBe(STORE_FORMAT);
    await b.close();
  });
});
