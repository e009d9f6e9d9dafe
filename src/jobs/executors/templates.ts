import { expandTemplate } from '../../config/index.ts';

/** Expands every element of an argv template; the result goes to the program as is (no shell). */
export function expandArgv(template: readonly string[], vars: Readonly<Record<string, string>>): string[] {
  return template.map((arg) => expandTemplate(arg, vars));
}
