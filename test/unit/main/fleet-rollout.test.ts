// Fleet rollout as far as it can be checked without Windows: the MSI's fleet properties (the
// electron-builder hook applied to electron-builder's own WiX template), the registry policy the
// app reads on first start, and the order of seed sources.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRegQuery, POLICY_KEY, seedFromPolicy } from '../../../electron/main/policy-seed.js';
import { SettingsStore } from '../../../electron/main/settings-store.js';
import { repoRoot } from '../grid/worker/harness.js';

const require = createRequire(import.meta.url);
const hook = require(path.join(repoRoot, 'build/msi-project.cjs')) as {
  addColonyProperties(wxs: string): string;
  PROPERTIES: [string, string][];
};
/** The slice of @xmldom/xmldom (electron-builder's XML parser) used here, typed locally: its own
 * typings pull the DOM lib into the whole Node program. */
interface XmlElement {
  getAttribute(name: string): string | null;
  getElementsByTagName(name: string): ArrayLike<XmlElement>;
}
const { DOMParser } = require('@xmldom/xmldom') as {
  DOMParser: new (o: { onError: (level: string, msg: string) => void }) => {
    parseFromString(text: string, type: string): XmlElement;
  };
};
const TOKEN = `colony1.c0ffee00c0ffee00.${'a'.repeat(64)}.s3cret-s3cret-s3cret@10.0.0.5:7070`;

/** electron-builder's MSI template with its template directives dropped (what the hook sees). */
function renderedTemplate(): string {
  const raw = readFileSync(require.resolve('app-builder-lib/templates/msi/template.xml'), 'utf8');
  return raw.replace(/\{\{-?[^}]*\}\}/g, '').replace(/\$\{[^}]+\}/g, 'x');
}

describe('the MSI fleet properties (build/msi-project.cjs)', () => {
  it('is the msiProjectCreated hook of electron-builder.yml', () => {
    const config = YAML.parse(
      readFileSync(path.join(repoRoot, 'electron-builder.yml'), 'utf8'),
    ) as {
      msiProjectCreated: string;
    };
    expect(config.msiProjectCreated).toBe('build/msi-project.cjs');
  });

  it('adds secure public properties and a component writing them to the policy key', () => {
    const out = hook.addColonyProperties(renderedTemplate());
    const errors: string[] = [];
    const doc = new DOMParser({
      onError: (level: string, msg: string) => void (level !== 'warning' && errors.push(msg)),
    }).parseFromString(out, 'text/xml');
    expect(errors).toEqual([]);
    const props = Array.from(doc.getElementsByTagName('Property'))
      .filter((p) => p.getAttribute('Id')?.startsWith('COLONY_'))
      .map((p) => [p.getAttribute('Id'), p.getAttribute('Secure'), p.getAttribute('Hidden')]);
    expect(props).toEqual([
      ['COLONY_MODE', 'yes', ''],
      ['COLONY_JOIN_TOKEN', 'yes', 'yes'],
      ['COLONY_COORDINATOR_URL', 'yes', ''],
      ['COLONY_AUTOSTART', 'yes', ''],
    ]);
    const key = doc.getElementsByTagName('RegistryKey')[0]!;
    expect([key.getAttribute('Root'), key.getAttribute('Key')]).toEqual([
      'HKLM',
      'SOFTWARE\\Policies\\Colony',
    ]);
    expect(`HKLM\\${key.getAttribute('Key')}`).toBe(POLICY_KEY);
    const values = Array.from(key.getElementsByTagName('RegistryValue')).map((v) => [
      v.getAttribute('Name'),
      v.getAttribute('Value'),
    ]);
    expect(values).toEqual(hook.PROPERTIES.map(([p, name]) => [name, `[${p}]`]));
    // Written only when an administrator set one of them; installed with the product feature.
    expect(out).toContain(
      '<Condition><![CDATA[COLONY_MODE OR COLONY_JOIN_TOKEN OR COLONY_COORDINATOR_URL OR COLONY_AUTOSTART]]></Condition>',
    );
    expect(out).toMatch(
      /<FeatureRef Id="ProductFeature">\s*<ComponentRef Id="ColonyFleetPolicy"\/>/,
    );
    expect(hook.addColonyProperties(out)).toBe(out); // applying twice changes nothing
    expect(() => hook.addColonyProperties('<Wix/>')).toThrow(/no <\/Product>/);
  });
});

describe('the registry policy the app reads on first start', () => {
  const regOutput = [
    '',
    'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Colony',
    '    Mode    REG_SZ    contributor',
    `    JoinToken    REG_SZ    ${TOKEN}`,
    '    CoordinatorUrl    REG_SZ    ',
    '    AutoStart    REG_DWORD    0x1',
    '',
  ].join('\r\n');

  it('reads what the MSI or group policy wrote; empty values are unset', () => {
    const values = parseRegQuery(regOutput);
    expect(values).toEqual({
      Mode: 'contributor',
      JoinToken: TOKEN,
      CoordinatorUrl: '',
      AutoStart: '1',
    });
    expect(seedFromPolicy(values)).toEqual({
      mode: 'contributor',
      joinToken: TOKEN,
      autoStart: true,
    });
    expect(seedFromPolicy({ AutoStart: '0' })).toMatchObject({ autoStart: false });
    expect(seedFromPolicy({})).toBeUndefined();
    expect(seedFromPolicy({ Mode: ' ', JoinToken: '' })).toBeUndefined();
    // The registry names the app reads are the ones the MSI writes.
    for (const [, name] of hook.PROPERTIES) expect(regOutput).toContain(`    ${name}    `);
  });

  it.each([
    [{ Mode: 'overlord' }, /mode/],
    [{ JoinToken: 'not-a-token' }, /joinToken/],
    [{ CoordinatorUrl: 'ftp://x' }, /coordinatorUrl/],
    [{ CoordinatorUrl: 'http://coordinator.office.lan:7070' }, /coordinatorUrl.*https:\/\//],
    [{ AutoStart: 'yes' }, /autoStart/],
  ])('refuses %o, naming the key and the value', (values, field) => {
    expect(() => seedFromPolicy(values)).toThrow(field);
    expect(() => seedFromPolicy(values)).toThrow(/Policies\\Colony/);
  });
});

describe('seed order on first start', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'colony-fleet-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const policy = {
    name: POLICY_KEY,
    read: () => Promise.resolve(seedFromPolicy({ Mode: 'coordinator' })),
  };

  it('takes the registry policy when no seed file exists, and a seed file over it', async () => {
    const fromPolicy = await SettingsStore.open(
      path.join(dir, 'a'),
      [path.join(dir, 'none.json')],
      policy,
    );
    expect(fromPolicy.seededFrom).toBe(POLICY_KEY);
    expect(fromPolicy.get().mode).toBe('coordinator');
    writeFileSync(
      path.join(dir, 'seed.json'),
      JSON.stringify({ mode: 'contributor', joinToken: TOKEN }),
    );
    const fromFile = await SettingsStore.open(
      path.join(dir, 'b'),
      [path.join(dir, 'seed.json')],
      policy,
    );
    expect(fromFile.seededFrom).toBe(path.join(dir, 'seed.json'));
    expect(fromFile.get()).toMatchObject({
      mode: 'contributor',
      contributor: { joinToken: TOKEN },
    });
  });
});
