// Busy programs: which of the owner's listed executables are running, by name, without case and
// without `.exe`, allowing for names the platform cut short (Linux comm: 15, macOS comm: 16 chars).

/** The form names are compared in: lower case, no trailing `.exe`. */
export function programKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/\.exe$/, '');
}

/** A name as the owner reads it in a reason: as listed, without `.exe`. */
export function programLabel(name: string): string {
  return name.trim().replace(/\.exe$/i, '');
}

/** Shorter than this, a running name is whole; at or above, the platform may have cut it. */
const CUT_AT = 15;

/** The listed programs (as listed) that appear in `running` (keys from `programKey`). */
export function runningBusyPrograms(
  listed: readonly string[],
  running: ReadonlySet<string>,
): string[] {
  const cut = [...running].filter((r) => r.length >= CUT_AT && r.length <= CUT_AT + 1);
  return listed.filter((name) => {
    const key = programKey(name);
    if (!key) return false;
    return running.has(key) || cut.some((r) => key.length > r.length && key.startsWith(r));
  });
}
