import { ConfigError } from '../errors.ts';

/**
 * Templates: `{name}` placeholders in argv elements, output paths and version strings.
 * A placeholder is `{` + an identifier (`[A-Za-z_][A-Za-z0-9_]*`) + `}`; any other brace text
 * (`{"json": 1}`, `{}`, `{a-b}`) is literal. There is no escaping and no shell: each argv element is
 * expanded on its own, so a value can never split into several arguments.
 */
const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Placeholders a compose command (`ostree.compose`) may use. */
export const COMPOSE_PLACEHOLDERS = [
  'repo',
  'ref',
  'treefile',
  'commitIdFile',
  'changedStamp',
  'version',
  'outputDir',
  'workdir',
  'release',
  'arch',
  'stream',
] as const;

/** Placeholders an artifact's `command` and `output` may use: the compose ones plus the compose's result. */
export const ARTIFACT_PLACEHOLDERS = [...COMPOSE_PLACEHOLDERS, 'commit', 'composeId', 'name'] as const;

/**
 * Placeholders of `ostree.version`. No `{arch}`/`{stream}`: every arch of a group composed from one
 * trigger shares the version, and promotion requires it to be equal across the group.
 * `{n}` counts the group's composes that day.
 */
export const VERSION_PLACEHOLDERS = ['release', 'date', 'n', 'group'] as const;

/** The placeholder names used in `template`, in order of appearance (with repeats). */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** The first placeholder of `template` that is not in `allowed`, if any. */
export function unknownPlaceholder(template: string, allowed: readonly string[]): string | undefined {
  return placeholdersIn(template).find((name) => !allowed.includes(name));
}

/**
 * Replaces every `{name}` in `template` with `vars[name]`. Pure.
 * @throws ConfigError (keyPath '') `unknown placeholder {x}` when `vars` has no `x`.
 */
export function expandTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  return template.replace(PLACEHOLDER, (_match, name: string) => {
    if (!Object.hasOwn(vars, name) || typeof vars[name] !== 'string') {
      throw new ConfigError('', `unknown placeholder {${name}}`);
    }
    return vars[name];
  });
}
