// A failed node task's error in the user's terms: their module's name and line, never the blob
// cache path it ran from; a module that does not parse gets its syntax error's location.
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import {
  describeSyntaxProblem,
  MAX_PARSED_MODULE_BYTES,
  moduleSyntaxError,
} from '../../module-syntax.js';

/** `message` plus where in the module it was thrown, from the first stack frame inside it. */
export function withModuleFrame(message: string, stack: string | undefined, modulePath: string) {
  if (!stack) return message;
  const href = pathToFileURL(modulePath).href;
  for (const line of stack.split('\n')) {
    const at = line.indexOf(href);
    if (at < 0) continue;
    const where = /^:(\d+):(\d+)/.exec(line.slice(at + href.length));
    if (where) return `${message} (at ${href}:${where[1]}:${where[2]})`;
  }
  return message;
}

/** Replaces the cached module's path and URL with the name the job file gave it. */
export function nameUserModule(text: string, modulePath: string, name: string): string {
  return text.replaceAll(pathToFileURL(modulePath).href, name).replaceAll(modulePath, name);
}

/** The error of a failed node attempt as its author should read it. */
export async function userFacingError(
  error: string,
  module: { path: string; name: string; size: number },
): Promise<string> {
  if (module.size <= MAX_PARSED_MODULE_BYTES) {
    // A module that does not parse never ran a line: its syntax error is the whole story, and
    // V8's module SyntaxError does not say where it is.
    const source = await readFile(module.path, 'utf8').catch(() => undefined);
    const problem = source === undefined ? undefined : moduleSyntaxError(source);
    if (problem) return describeSyntaxProblem(module.name, problem);
  }
  return nameUserModule(error, module.path, module.name);
}
