/** `triggers.pungi` and `promote.from`: the pre-release path's keys, and the mistakes they refuse with the key path and why. */
import { describe, expect, it } from 'vitest';
import { configProblems, parseConfig } from '../../../src/config/index.ts';
import { pungiConfigYaml } from '../../helpers/pungi.ts';

const DIR = '/srv/relengd';
const valid = pungiConfigYaml(DIR);
const problems = (yaml: string) => configProblems(yaml, {}).map((p) => ({ keyPath: p.keyPath, message: p.message }));
/** The config without Pungi as a source. */
const withoutPungi = (yaml: string) => yaml.replace(/ {4}triggers:\n {6}pungi: .*\n/g, '    triggers: {}\n');

describe('triggers.pungi and promote.from', () => {
  it('parse into the stream', () => {
    const [stream] = parseConfig(valid, {}).streams;
    expect(stream?.triggers.pungi).toEqual({ composeId: 'Fedora-26-*.n.*', variant: 'Atomic', repo: `${DIR}/compose-repo` });
    expect(stream?.promote?.from).toEqual({ repo: `${DIR}/compose-repo` });
  });

  it('are optional: a stream without them has neither', () => {
    const yaml = withoutPungi(valid).replace(/ {6}from: .*\n/g, '');
    const [stream] = parseConfig(yaml, {}).streams;
    expect(stream?.triggers.pungi).toBeUndefined();
    expect(stream?.promote?.from).toBeUndefined();
  });

  it('refuse a compose id glob with characters a compose id never has', () => {
    expect(problems(valid.replaceAll('Fedora-26-*.n.*', 'Fedora 26/*'))[0]).toEqual({
      keyPath: 'streams[0].triggers.pungi.composeId',
      message: expect.stringContaining('must be a compose id glob: letters, digits, ._+~- and the wildcards * and ?, at most 128 characters'),
    });
  });

  it('refuse a relative compose repo, and an unknown key', () => {
    expect(problems(valid.replaceAll(`repo: ${DIR}/compose-repo }`, 'repo: compose-repo }'))[0]).toMatchObject({ keyPath: 'streams[0].triggers.pungi.repo', message: expect.stringContaining('must be an absolute path') });
    expect(problems(valid.replaceAll('variant: Atomic,', 'variant: Atomic, varaint: Atomic,'))[0]?.keyPath).toBe('streams[0].triggers.pungi.varaint');
  });

  it('refuse promote.from naming another repository than triggers.pungi.repo', () => {
    expect(problems(valid.replaceAll(`from: { repo: ${DIR}/compose-repo }`, 'from: { repo: /elsewhere }'))[0]).toEqual({
      keyPath: 'streams[0].promote.from.repo',
      message: expect.stringContaining(`must be triggers.pungi.repo (${DIR}/compose-repo): promotion pulls a commit from the repository it was found in`),
    });
  });

  it('refuse promote.from on a stream Pungi does not feed', () => {
    expect(problems(withoutPungi(valid))[0]).toMatchObject({ keyPath: 'streams[0].promote.from', message: expect.stringContaining('set triggers.pungi too') });
  });

  it('refuse a promotion that could not reach the commits Pungi made in another repository', () => {
    expect(problems(valid.replace(/ {6}from: .*\n/g, ''))[0]).toEqual({
      keyPath: 'streams[0].promote',
      message: expect.stringContaining(`Pungi commits into triggers.pungi.repo (${DIR}/compose-repo), not ostree.repo: set promote.from: {repo: ${DIR}/compose-repo} so that promotion pulls the commit into ostree.repo`),
    });
  });

  it('take a Pungi that commits into the public repository itself, without promote.from', () => {
    const yaml = valid.replace(/ {6}from: .*\n/g, '').replaceAll(`repo: ${DIR}/compose-repo }`, `repo: ${DIR}/repo }`);
    expect(problems(yaml)).toEqual([]);
  });

  it("refuse a release ref that is Pungi's ref, as on the Bodhi path", () => {
    expect(problems(valid.replace('ref: fedora/26/x86_64/atomic-host', 'ref: fedora/26/x86_64/testing/atomic-host'))[0]?.keyPath).toBe('streams[0].promote.ref');
  });
});
