// Glob patterns of job files (`files: ["data/*.csv"]`) matched against relative paths, as fast-glob
// does for the CLI: `*` and `?` stay within a segment, `**` spans segments, `[..]` classes and
// `{a,b}` alternatives; names starting with a dot are only matched by patterns that spell the dot.

/** `a{b,c{d,e}}f` → `abf`, `acdf`, `acef`. Unbalanced braces are taken literally. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  let depth = 0;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      const parts: string[] = [];
      let from = open + 1;
      for (const comma of commas) {
        parts.push(pattern.slice(from, comma));
        from = comma + 1;
      }
      parts.push(pattern.slice(from, i));
      const head = pattern.slice(0, open);
      const tails = expandBraces(pattern.slice(i + 1));
      return parts.flatMap((p) =>
        expandBraces(p).flatMap((x) => tails.map((t) => `${head}${x}${t}`)),
      );
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  // No closing brace: keep `{` as a character and expand what follows.
  return expandBraces(pattern.slice(open + 1)).map((t) => `${pattern.slice(0, open + 1)}${t}`);
}

const escape = (c: string) => c.replace(/[.+^$()|\\/{}[\]*?]/g, '\\$&');

function segment(seg: string): string {
  // A leading wildcard never matches a dot file (fast-glob's `dot: false`).
  let out = seg.startsWith('.') ? '' : '(?!\\.)';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === '*') {
      out += '[^/]*';
      while (seg[i + 1] === '*') i++;
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      out += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else out += escape(c);
  }
  return out;
}

/** A path written in a job file, as a key into a folder listing: `./a//b` → `a/b`. */
export function normalizePath(path: string): string {
  return path
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

export function globToRegExp(pattern: string): RegExp {
  const alternatives = expandBraces(normalizePath(pattern)).map((p) => {
    const segs = p.split('/');
    return segs
      .map((seg, i) => {
        const last = i === segs.length - 1;
        if (seg === '**') return last ? '(?:(?!\\.)[^/]*(?:/(?!\\.)[^/]*)*)' : '(?:(?!\\.)[^/]*/)*';
        return segment(seg) + (last ? '' : '/');
      })
      .join('');
  });
  return new RegExp(`^(?:${alternatives.join('|')})$`);
}

/** The paths (relative, `/`-separated) that `pattern` matches, sorted. */
export function matchGlob(pattern: string, paths: Iterable<string>): string[] {
  const re = globToRegExp(pattern);
  return [...paths].filter((p) => re.test(p)).sort();
}
