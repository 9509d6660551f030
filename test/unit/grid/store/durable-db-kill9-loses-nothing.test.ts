// docs/promises.md: kill -9 at any moment loses nothing that was acknowledged, and a restart carries on.
import { spawn } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { DurableDb } from '../../../../electron/grid/store/durable-db.js';
import { builtDurableDb } from './helpers/built-store.js';
import { useTempDir } from './helpers/temp-dir.js';

const tmp = useTempDir('colony-kill9-');
const schema = ['CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT NOT NULL)'];

/** Commits from 8 concurrent loops and prints each key once its commit is durable. */
const childSource = (moduleUrl: string) => `
import { DurableDb } from ${JSON.stringify(moduleUrl)};
const [dir, base] = process.argv.slice(2);
const store = await DurableDb.open({
  dir,
  schema: ${JSON.stringify(schema)},
  apply: (db, op) => db.run('INSERT INTO kv (k, v) VALUES (?, ?)', [op.k, op.v]),
  snapshotEveryRecords: 300,
});
let next = Number(base);
async function loop() {
  for (;;) {
    const k = next++;
    await store.commit({ k, v: 'value-' + k + '-'.repeat(k % 200) }).durable;
    process.stdout.write('ack ' + k + '\\n');
  }
}
await Promise.all(Array.from({ length: 8 }, loop));
`;

/** Runs the child until `killAfter` acknowledgements, kill -9s it, returns every acknowledged key. */
async function runAndKill(
  script: string,
  dir: string,
  base: number,
  killAfter: number,
): Promise<number[]> {
  const child = spawn(process.execPath, [script, dir, String(base)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acked: number[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) if (line.startsWith('ack ')) acked.push(Number(line.slice(4)));
    if (acked.length >= killAfter) child.kill('SIGKILL');
  });
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  if (acked.length < killAfter) throw new Error(`child exited early (${code}): ${stderr}`);
  return acked;
}

describe('DurableDb under kill -9', () => {
  let script = '';
  beforeAll(() => {
    script = builtDurableDb();
  });

  it('keeps every acknowledged op across repeated kill -9 and restarts', async () => {
    const file = join(tmp(), 'child.mjs');
    await writeFile(file, childSource(pathToFileURL(script).href));
    const dir = join(tmp(), 'store');
    const allAcked: number[] = [];
    let lastEpoch = 0;
    for (const [round, killAfter] of [700, 1500, 250].entries()) {
      allAcked.push(...(await runAndKill(file, dir, round * 1_000_000, killAfter)));
      const store = await DurableDb.open<{ k: number; v: string }>({
        dir,
        schema,
        apply: (db, op) => db.run('INSERT INTO kv (k, v) VALUES (?, ?)', [op.k, op.v]),
      });
      const present = new Set(
        (store.db.exec('SELECT k FROM kv')[0]?.values ?? []).map((r) => Number(r[0])),
      );
      const missing = allAcked.filter((k) => !present.has(k));
      expect(missing).toEqual([]);
      expect(store.epoch).toBeGreaterThan(lastEpoch);
      lastEpoch = store.epoch;
      await store.close();
    }
    // The kills landed in a run that was also snapshotting and pruning, not only journaling.
    expect((await readdir(dir)).filter((f) => /^snapshot-\d+\.db$/.test(f)).length).toBeGreaterThan(
      0,
    );
  });
});
