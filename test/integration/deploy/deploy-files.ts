/**
 * The files under deploy/, read as their consumers read them: YAML documents (kubectl, compose),
 * Containerfile instructions, systemd unit keys. Parse errors throw, naming the file.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../../helpers/process.ts';

export const deployDir = join(projectRoot, 'deploy');

/** Every YAML file under deploy/, recursively. */
export function yamlFiles(dir = deployDir): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** The documents of a (multi-document) YAML file as plain data; a syntax error or warning throws. */
export function yamlDocuments(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true });
  if (!Array.isArray(docs)) throw new Error(`${relative(projectRoot, file)}: not YAML documents`);
  return docs.map((doc, i) => {
    const problem = doc.errors[0] ?? doc.warnings[0];
    if (problem) throw new Error(`${relative(projectRoot, file)}, document ${i + 1}: ${problem.message}`);
    return doc.toJS() as unknown;
  });
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

/** What the tests read of a Kubernetes object (loosely typed: the manifests are what is checked). */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> } } & Record<string, unknown>;

export function kubernetesObjects(): K8sObject[] {
  return yamlFiles(join(deployDir, 'kubernetes')).flatMap((file) => yamlDocuments(file) as K8sObject[]);
}

export function kubernetesObject<T = K8sObject>(kind: string, name?: string): T {
  const found = kubernetesObjects().filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''} in deploy/kubernetes, found ${found.length}`);
  return found[0] as T;
}

// ---------------------------------------------------------------------------------------------
// Containerfile

export interface Instruction {
  keyword: string;
  /** The rest of the (joined) line. */
  args: string;
}

/** The Containerfile's instructions: comments dropped, backslash continuations joined. */
export function containerfile(file = join(deployDir, 'container', 'Containerfile')): Instruction[] {
  const logical: string[] = [];
  let pending = '';
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const full = pending + line;
    pending = '';
    if (full.trim() !== '') logical.push(full.trim());
  }
  return logical.map((text) => {
    const m = /^(\S+)\s*(.*)$/.exec(text)!;
    return { keyword: m[1]!.toUpperCase(), args: m[2]! };
  });
}

/** The last instruction with this keyword (the one in effect in the final stage). */
export function lastInstruction(instructions: readonly Instruction[], keyword: string): Instruction | undefined {
  return instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** An exec-form (JSON array) argument, as ENTRYPOINT, CMD and VOLUME take it. */
export function execForm(instruction: Instruction | undefined): string[] {
  if (!instruction) return [];
  const value = JSON.parse(instruction.args) as unknown;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${instruction.keyword} is not in exec form: ${instruction.args}`);
  return value;
}

/** The final stage's instructions (after the last FROM). */
export function finalStage(instructions: readonly Instruction[]): Instruction[] {
  const from = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  return instructions.slice(from);
}

/** Image path -> repository path, from the final stage's `COPY <repo path>... <image dir>` (not --from). */
export function copiedFromRepository(instructions: readonly Instruction[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const copy of finalStage(instructions).filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--'))) {
    const parts = copy.args.split(/\s+/);
    const target = parts.pop()!;
    for (const source of parts) map.set(target.endsWith('/') ? join(target, source.split('/').at(-1)!) : target, join(projectRoot, source));
  }
  return map;
}

// ---------------------------------------------------------------------------------------------
// systemd

/** `[Section]` -> key -> every value given (in order); an empty assignment is kept as ''. */
export type UnitFile = Map<string, Map<string, string[]>>;

export function systemdUnit(file: string): UnitFile {
  const unit: UnitFile = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const m = /^([A-Za-z0-9]+)=(.*)$/.exec(line);
    if (!m || !section) throw new Error(`${relative(projectRoot, file)}: not a unit file line: ${line}`);
    section.set(m[1]!, [...(section.get(m[1]!) ?? []), m[2]!]);
  }
  return unit;
}

/** The values of a key, split on whitespace (list settings such as ReadWritePaths). */
export function unitList(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section)?.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter((v) => v !== '');
}

/** The last value of a key (what systemd uses for a single-valued setting). */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

/** What the image runs by default: ENTRYPOINT then CMD. */
export function imageCommand(instructions = containerfile()): string[] {
  const stage = finalStage(instructions);
  return [...execForm(lastInstruction(stage, 'ENTRYPOINT')), ...execForm(lastInstruction(stage, 'CMD'))];
}

/** The `--config FILE` of a relengd command line. */
export function configArgument(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--config');
  return i === -1 ? undefined : argv[i + 1];
}
