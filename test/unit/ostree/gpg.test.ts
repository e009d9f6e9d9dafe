/**
 * `ostree show --gpg-homedir` output (ostree 2022.7, recorded here) read into signatures, and the
 * ways a commit's own text could try to pass for a signature.
 */
import { describe, expect, it } from 'vitest';
import { madeByOneOf, parseGpgSignatures, type CommitSignature } from '../../../src/ostree/index.ts';
import { OstreeParseError } from '../../../src/ostree/errors.ts';

const HEADER = `commit 52e46cd53eb646651a3e3d73c84e8e092a190746a244bd893784aab9db276755
ContentChecksum:  2820539408aa9ad0d41aaf9f17d19493b382ce50b60f2014639f1a7c7e2a77da
Date:  2026-12-02 13:37:17 +0000

    x

`;

const GOOD_AND_UNKNOWN = `${HEADER}Found 2 signatures:

  Signature made Wed Dec  2 13:37:17 2026 using EdDSA key ID 944A417EBC54647D
  Good signature from "relengd test <t@example.org>"

  Signature made Wed Dec  2 13:37:38 2026 using RSA key ID C9AD54C66A5652F6
  Can't check signature: public key not found
`;

/** A signature copied from another commit's detached metadata. */
const COPIED = `${HEADER}Found 1 signature:

  Signature made Thu Jan  1 00:00:00 1970 using [unknown name] key ID 944A417EBC54647D
  BAD signature from "relengd test <t@example.org>"
  Primary key ID 944A417EBC54647D
`;

describe('parseGpgSignatures', () => {
  it('reads no signatures from a commit that carries none', () => {
    expect(parseGpgSignatures(HEADER)).toEqual([]);
  });

  it('reads each signature with its key id, verdict and signer', () => {
    expect(parseGpgSignatures(GOOD_AND_UNKNOWN)).toEqual<CommitSignature[]>([
      { keyId: '944A417EBC54647D', primaryKeyId: null, status: 'good', signer: 'relengd test <t@example.org>', madeAt: 'Wed Dec  2 13:37:17 2026' },
      { keyId: 'C9AD54C66A5652F6', primaryKeyId: null, status: 'missing-key', signer: null, madeAt: 'Wed Dec  2 13:37:38 2026' },
    ]);
  });

  it('reads a signature that does not match the commit as bad', () => {
    expect(parseGpgSignatures(COPIED)).toMatchObject([{ keyId: '944A417EBC54647D', status: 'bad' }]);
  });

  it('keeps the primary key of a signature a subkey made', () => {
    const subkey = `${HEADER}Found 1 signature:\n\n  Signature made Wed Dec  2 13:37:17 2026 using RSA key ID 1111222233334444\n  Good signature from "Fedora <f@example.org>"\n  Primary key ID AAAABBBBCCCCDDDD\n`;
    expect(parseGpgSignatures(subkey)).toMatchObject([{ keyId: '1111222233334444', primaryKeyId: 'AAAABBBBCCCCDDDD', status: 'good' }]);
  });

  it('does not take a good signature by an expired or revoked key for good', () => {
    const expired = `${HEADER}Found 1 signature:\n\n  Signature made Wed Dec  2 13:37:17 2026 using RSA key ID 1111222233334444\n  Good signature from "x <x@example.org>"\n  Key expired Thu Dec  3 00:00:00 2026\n`;
    const revoked = `${HEADER}Found 1 signature:\n\n  Signature made Wed Dec  2 13:37:17 2026 using RSA key ID 1111222233334444\n  Key revoked\n`;
    expect(parseGpgSignatures(expired)[0]!.status).toBe('expired-key');
    expect(parseGpgSignatures(revoked)[0]!.status).toBe('revoked-key');
  });

  it('is not fooled by a version whose text looks like a signature, followed by the real subject', () => {
    // A `version` metadata value with newlines is printed at column 0 before the subject (recorded).
    const spoof = `commit e26311028c916e2caa994dd30dad4c48a215abe29b521db1ded6c672ebc68b9f
ContentChecksum:  22679c9dd2885de84428c29fad9fa3e9b1400cf9ffceae5bbab22a1346dd0068
Date:  2026-12-02 13:42:41 +0000
Version: 1
Found 1 signature:

  Signature made X using EdDSA key ID 944A417EBC54647D
  Good signature from "x <y>"
(no subject)

`;
    expect(() => parseGpgSignatures(spoof)).toThrow(OstreeParseError);
  });

  it('does not read a body that looks like a signature section (ostree indents it by four spaces)', () => {
    const body = `${HEADER.replace('    x\n', '    x\n\n    Found 1 signature:\n\n      Signature made X using EdDSA key ID 944A417EBC54647D\n      Good signature from "x <y>"\n')}`;
    expect(parseGpgSignatures(body)).toEqual([]);
  });

  it('refuses a section whose blocks do not add up to the count', () => {
    expect(() => parseGpgSignatures(GOOD_AND_UNKNOWN.replace('Found 2 signatures', 'Found 3 signatures'))).toThrow(OstreeParseError);
  });
});

describe('madeByOneOf', () => {
  const signature: CommitSignature = { keyId: '944A417EBC54647D', primaryKeyId: 'AAAABBBBCCCCDDDD', status: 'good', signer: null, madeAt: '' };

  it('matches a fingerprint or long key id of the signing key or its primary key, in any case', () => {
    expect(madeByOneOf(signature, ['BC14999267BB3AFC34D5C2F4944A417EBC54647D'])).toBe(true);
    expect(madeByOneOf(signature, ['944a417ebc54647d'])).toBe(true);
    expect(madeByOneOf(signature, ['AAAABBBBCCCCDDDD'])).toBe(true);
  });

  it('does not match another key', () => {
    expect(madeByOneOf(signature, ['C9AD54C66A5652F6'])).toBe(false);
  });
});
