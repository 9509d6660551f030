// electron-builder hook (msiProjectCreated in electron-builder.yml): gives the MSI the public
// properties an administrator sets for a fleet, on the msiexec command line or in a transform (.mst)
// assigned with the package by group policy:
//   COLONY_MODE (contributor | coordinator), COLONY_JOIN_TOKEN, COLONY_COORDINATOR_URL,
//   COLONY_AUTOSTART (1 | 0)
// They are written to HKLM\SOFTWARE\Policies\Colony (Mode, JoinToken, CoordinatorUrl, AutoStart),
// which the app reads on its first start (electron/main/policy-seed.ts) and which group policy can
// also set directly. Tested by test/unit/main/fleet-rollout.test.ts.
'use strict';
const { readFile, writeFile } = require('node:fs/promises');

const PROPERTIES = [
  ['COLONY_MODE', 'Mode'],
  ['COLONY_JOIN_TOKEN', 'JoinToken'],
  ['COLONY_COORDINATOR_URL', 'CoordinatorUrl'],
  ['COLONY_AUTOSTART', 'AutoStart'],
];
const MARK = '<!-- colony: fleet properties -->';

/** The project's WiX source with Colony's properties and the component writing them. */
function addColonyProperties(wxs) {
  if (wxs.includes(MARK)) return wxs;
  const end = wxs.lastIndexOf('</Product>');
  if (end < 0) throw new Error('msi-project: no </Product> in the WiX project');
  const any = PROPERTIES.map(([p]) => p).join(' OR ');
  const block = [
    `    ${MARK}`,
    // Secure: passed from the client to the elevated install; Hidden: the token stays out of logs.
    ...PROPERTIES.map(
      ([p]) =>
        `    <Property Id="${p}" Secure="yes"${p === 'COLONY_JOIN_TOKEN' ? ' Hidden="yes"' : ''}/>`,
    ),
    '    <DirectoryRef Id="TARGETDIR">',
    '      <Component Id="ColonyFleetPolicy" Guid="8C843602-BF3F-4BE6-9CBA-8926D7CAD65A">',
    `        <Condition><![CDATA[${any}]]></Condition>`,
    '        <RegistryKey Root="HKLM" Key="SOFTWARE\\Policies\\Colony">',
    ...PROPERTIES.map(
      ([p, name], i) =>
        `          <RegistryValue Name="${name}" Type="string" Value="[${p}]"${i === 0 ? ' KeyPath="yes"' : ''}/>`,
    ),
    '        </RegistryKey>',
    '      </Component>',
    '    </DirectoryRef>',
    '    <FeatureRef Id="ProductFeature">',
    '      <ComponentRef Id="ColonyFleetPolicy"/>',
    '    </FeatureRef>',
    '',
  ].join('\n');
  return `${wxs.slice(0, end)}${block}  ${wxs.slice(end)}`;
}

async function msiProjectCreated(projectFile) {
  await writeFile(projectFile, addColonyProperties(await readFile(projectFile, 'utf8')));
}

module.exports = msiProjectCreated;
module.exports.default = msiProjectCreated;
module.exports.addColonyProperties = addColonyProperties;
module.exports.PROPERTIES = PROPERTIES;
