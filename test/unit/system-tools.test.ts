import { describe, expect, it } from 'vitest';
import { notInstalledMessage } from '../../src/system-tools.ts';

describe('a missing program', () => {
  it.each([
    ['ostree', 'ostree is not installed (apt-get install ostree / dnf install ostree)'],
    ['rpm-ostree', 'rpm-ostree is not installed (apt-get install rpm-ostree / dnf install rpm-ostree)'],
    ['gpg', 'gpg is not installed (apt-get install gnupg / dnf install gnupg2)'],
    ['lorax', 'lorax is not installed (apt-get install lorax / dnf install lorax)'],
  ])('%s: says which package brings it', (program, message) => {
    expect(notInstalledMessage(program)).toBe(message);
  });

  it('one relengd does not know: not found on PATH; a path: does not exist', () => {
    expect(notInstalledMessage('relengd-no-such-command')).toBe('relengd-no-such-command is not installed (not found on PATH)');
    expect(notInstalledMessage('/usr/libexec/relengd/koji-image-build')).toBe('/usr/libexec/relengd/koji-image-build does not exist');
  });
});
