// electron-builder.yml against electron-builder's own configuration schema (app-builder-lib's
// scheme.json), plus the promises of the rollout: every target, resources unpacked, seed hooks.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Ajv } from 'ajv';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../grid/worker/harness.js';

const require = createRequire(import.meta.url);
const config = YAML.parse(
  readFileSync(path.join(repoRoot, 'electron-builder.yml'), 'utf8'),
) as Record<string, unknown> & {
  win: { target: { target: string }[] };
  mac: { target: { target: string }[] };
  linux: { target: string[] };
  asarUnpack: string[];
  nsis: { include: string };
  pkg: { scripts: string };
};

describe('electron-builder.yml', () => {
  it("is valid against electron-builder's configuration schema", () => {
    const schema = JSON.parse(
      readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'),
    ) as object;
    const ajv = new Ajv({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const ok = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('rejects a broken config (the check has teeth)', () => {
    const schema = JSON.parse(
      readFileSync(require.resolve('app-builder-lib/scheme.json'), 'utf8'),
    ) as object;
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate({ ...config, nsis: { ...config.nsis, oneClick: 'yes' } })).toBe(false);
    expect(validate({ ...config, notAnOption: true })).toBe(false);
  });

  it('builds NSIS + MSI, DMG + PKG, deb + AppImage and ships the worker and sql.js wasm unpacked', () => {
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis', 'msi']);
    expect(config.mac.target.map((t) => t.target)).toEqual(['dmg', 'pkg']);
    expect(config.linux.target).toEqual(['deb', 'AppImage']);
    expect(config.asarUnpack).toEqual(
      expect.arrayContaining([
        'dist/electron/grid/worker/**',
        'node_modules/sql.js/dist/sql-wasm.wasm',
      ]),
    );
    expect(existsSync(path.join(repoRoot, 'node_modules/sql.js/dist/sql-wasm.wasm'))).toBe(true);
    expect(existsSync(path.join(repoRoot, config.nsis.include))).toBe(true);
    expect(existsSync(path.join(repoRoot, config.pkg.scripts, 'postinstall'))).toBe(true);
  });
});
