/**
 * Access to the real Fedora bus messages in ../shared/fixtures/fedora-messages.
 * The folder sits beside the project for developers and CI; users do not have it.
 * Without it a test skips and says why, except under CI=true, where it fails.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FedoraFixture {
  /** File name, e.g. `bodhi.compose.complete.1.json`. */
  file: string;
  topic: string;
  id?: string;
  headers?: Record<string, unknown>;
  body: unknown;
  fedmsg_envelope?: Record<string, unknown>;
}

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const fixturesDir: string =
  process.env.RELENGD_FIXTURES_DIR ?? join(projectRoot, '..', 'shared', 'fixtures', 'fedora-messages');

export const fixturesPresent: boolean = existsSync(fixturesDir);

export const fixturesMissingReason = `the Fedora message fixtures are not at ${fixturesDir} (set RELENGD_FIXTURES_DIR)`;

if (!fixturesPresent && process.env.CI === 'true') {
  throw new Error(`CI=true but ${fixturesMissingReason}`);
}
if (!fixturesPresent) {
  console.warn(`skipping fixture tests: ${fixturesMissingReason}`);
}

export function loadFixtures(): FedoraFixture[] {
  if (!fixturesPresent) return [];
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(fixturesDir, file), 'utf8')) as Omit<FedoraFixture, 'file'>) }));
}

export function loadFixture(file: string): FedoraFixture {
  return { file, ...(JSON.parse(readFileSync(join(fixturesDir, file), 'utf8')) as Omit<FedoraFixture, 'file'>) };
}
