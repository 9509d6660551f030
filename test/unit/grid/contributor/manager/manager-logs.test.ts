// An attempt's kept output: bounded tails per stream; errors named by the user's module and line.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AttemptOutput } from '../../../../../electron/grid/contributor/manager/manager-logs.js';
import {
  userFacingError,
  withModuleFrame,
} from '../../../../../electron/grid/contributor/supervisor/task-errors.js';

async function uploaded(out: AttemptOutput) {
  const blobs = new Map<string, Buffer>();
  const logs = await out.upload(async (data, sha) => {
    expect(createHash('sha256').update(data).digest('hex')).toBe(sha);
    blobs.set(sha, Buffer.from(data));
  });
  const text = (s: 'stdout' | 'stderr' | 'log') =>
    logs[s] ? blobs.get(logs[s].sha256)?.toString() : undefined;
  return { logs, text };
}

describe('AttemptOutput', () => {
  it('keeps each stream as written, ctx.log one line per call, and skips silent streams', async () => {
    const out = new AttemptOutput(1024);
    out.write('stdout', Buffer.from('a\tb'));
    out.write('stdout', 'c\n"d"');
    out.write('log', 'first line');
    out.write('log', 'second');
    const { logs, text } = await uploaded(out);
    expect(text('stdout')).toBe('a\tbc\n"d"');
    expect(text('log')).toBe('first line\nsecond\n');
    expect(logs.stderr).toBeUndefined();
    expect(logs.stdout).toMatchObject({ size: 8, dropped: 0 });
  });

  it('keeps only the last N bytes of a long stream and says how many it dropped', async () => {
    const out = new AttemptOutput(100);
    for (let i = 0; i < 50; i++) out.write('stderr', `line ${String(i).padStart(3, '0')}\n`); // 9 bytes each
    const { logs, text } = await uploaded(out);
    expect(text('stderr')).toHaveLength(100);
    expect(text('stderr')?.endsWith('line 049\n')).toBe(true);
    expect(logs.stderr).toMatchObject({ size: 100, dropped: 450 - 100 });
  });

  it('keeps nothing with a bound of 0, but still says bytes were dropped', async () => {
    const out = new AttemptOutput(0);
    out.write('stdout', 'hello');
    const { logs } = await uploaded(out);
    expect(logs.stdout).toMatchObject({ size: 0, dropped: 5 });
  });
});

describe("errors in the user's terms", () => {
  it("names the module's line from the stack, then the module by its job-file name", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'colony-errors-'));
    try {
      const path = join(dir, 'modules', `${'a'.repeat(64)}.mjs`);
      await writeFile(join(dir, 'x'), '');
      const stack = `TypeError: boom\n    at Module.default (${pathToFileURL(path).href}:4:11)\n    at run (node:internal)`;
      const message = withModuleFrame('boom', stack, path);
      const fine = join(dir, 'fine.mjs');
      await writeFile(fine, 'export default () => 1;\n');
      const named = await userFacingError(
        message.replace(path, fine).replace(pathToFileURL(path).href, pathToFileURL(fine).href),
        {
          path: fine,
          name: 'render.mjs',
          size: 30,
        },
      );
      expect(named).toBe('boom (at render.mjs:4:11)');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives a module that does not parse its syntax error with file and line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'colony-errors-'));
    try {
      const path = join(dir, 'broken.mjs');
      await writeFile(path, 'export default async () => {\n  return ;;\n  let = 5;\n};\n');
      const error = await userFacingError("Unexpected token '='", {
        path,
        name: 'job/broken.mjs',
        size: 50,
      });
      expect(error).toMatch(/^job\/broken\.mjs line 3, column \d+: /);
      expect(error).not.toContain(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
