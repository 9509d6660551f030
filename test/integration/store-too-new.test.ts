// Promise: a coordinator refuses a store written by a newer Colony with one clear sentence (exit 1,
// no stack trace) and leaves every file of it as it was.
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32Hex } from '../../electron/grid/store/crc32.js';
import { STORE_FORMAT } from '../../electron/grid/store/schema.js';
import { runCli, startProc } from './helpers/cluster.js';

async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort())
    out[name] = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
  return out;
}

describe('a store from a newer Colony', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is refused by `colony coordinator` with a sentence, and nothing on disk changes', async () => {
    dir = await mkdtemp(join(tmpdir(), 'colony-too-new-'));
    const data = join(dir, 'coordinator');
    const first = await startProc(
      ['coordinator', '--data', data, '--port', '0', '--no-mdns'],
      /listening at/,
    );
    process.kill(first.pid, 'SIGTERM');
    expect(await first.exited).toBe(0);
    // What a newer release would have appended: a record of a format this build does not know.
    const store = join(data, 'store');
    const segment = join(
      store,
      (await readdir(store))
        .filter((f) => f.startsWith('journal-'))
        .sort()
        .at(-1)!,
    );
    const seq = (await readFile(segment, 'utf8')).trim().split('\n').length + 1;
    const json = `{"seq":${seq},"v":${STORE_FORMAT + 1},"data":{"t":"op","op":{"t":"later.thing"}}}`;
    await appendFile(segment, `${crc32Hex(Buffer.from(json))} ${json}\n`);
    const before = await contents(store);

    const res = await runCli(['coordinator', '--data', data, '--port', '0', '--no-mdns']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(
        `^colony: the store in .* was written by a newer Colony \\(journal record ${seq} has store format ${STORE_FORMAT + 1}; this Colony reads formats up to ${STORE_FORMAT}\\)`,
      ),
    );
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(await contents(store)).toEqual(before);
  });
});
