// Parses a node task module without running it, so a syntax error is reported with the user's file
// name and line at submit (and at run time, where V8's module SyntaxError carries no location).
// acorn: a small, dependency-free parser that follows the ECMAScript standard closely; the module is
// parsed, never evaluated.
import { parse } from 'acorn';

/** Modules larger than this are not parsed at submit (the run-time error still names the file). */
export const MAX_PARSED_MODULE_BYTES = 16 * 1024 * 1024;

export interface SyntaxProblem {
  line: number;
  column: number;
  message: string;
}

/** The first syntax error of an ES module's source, or undefined when it parses. */
export function moduleSyntaxError(source: string): SyntaxProblem | undefined {
  try {
    parse(source, {
      ecmaVersion: 'latest',
      sourceType: 'module',
      allowHashBang: true,
      locations: true,
    });
    return undefined;
  } catch (err) {
    const e = err as { loc?: { line: number; column: number }; message?: string };
    if (!e.loc) return undefined; // not a syntax error (should not happen): let the runtime say
    // acorn appends " (line:column)" to its message; the location is said in our own words.
    const message = (e.message ?? 'syntax error').replace(/\s*\(\d+:\d+\)$/, '');
    return { line: e.loc.line, column: e.loc.column + 1, message };
  }
}

/** "count.mjs line 2, column 11: Unexpected token" for a module named `name`. */
export function describeSyntaxProblem(name: string, p: SyntaxProblem): string {
  return `${name} line ${p.line}, column ${p.column}: ${p.message} (a syntax error: the module cannot be loaded)`;
}
