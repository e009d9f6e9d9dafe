import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { expandTemplate, placeholdersIn } from '../../../src/config/index.ts';

describe('expandTemplate', () => {
  it('replaces every placeholder, repeats included', () => {
    expect(expandTemplate('--repo={repo} {ref}:{ref}', { repo: '/srv/ostree/26', ref: 'fedora/26' })).toBe('--repo=/srv/ostree/26 fedora/26:fedora/26');
  });

  it('builds the version of a compose', () => {
    expect(expandTemplate('{release}.{date}.{n}', { release: '26', date: '20170707', n: '0' })).toBe('26.20170707.0');
  });

  it('does not expand placeholders that appear inside a value', () => {
    expect(expandTemplate('{a}', { a: '{b}', b: 'no' })).toBe('{b}');
  });

  it('leaves brace text that is not a placeholder alone', () => {
    expect(expandTemplate('{"k": 1} {} {a-b}', {})).toBe('{"k": 1} {} {a-b}');
  });

  it('rejects an unknown placeholder, naming it', () => {
    expect(() => expandTemplate('{repo} {tmpdir}', { repo: '/r' })).toThrow(ConfigError);
    expect(() => expandTemplate('{repo} {tmpdir}', { repo: '/r' })).toThrow('unknown placeholder {tmpdir}');
  });

  it('does not take inherited object properties for variables', () => {
    expect(() => expandTemplate('{toString}', {})).toThrow('unknown placeholder {toString}');
  });

  it('placeholdersIn lists the names used', () => {
    expect(placeholdersIn('{outputDir}/{name}-{commit}.iso')).toEqual(['outputDir', 'name', 'commit']);
  });
});
