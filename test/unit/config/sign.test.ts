import { describe, expect, it } from 'vitest';
import { configProblems, parseConfig } from '../../../src/config/index.ts';
import { testConfigYaml } from '../../helpers/config.ts';

const KEY = 'BC14999267BB3AFC34D5C2F4944A417EBC54647D';
const REPLIES = 'publishers: { coreos.build.request.ostree-sign.finished: [robosignatory] }';

const sign = (fields: string) => () => `    sign: { ${fields} }`;
const problems = (yaml: string) => configProblems(yaml, {}).map((p) => p.message);

describe('streams[].sign', () => {
  it('takes the protocol, the keyring and the keys, with a one-hour timeout and two retries by default', () => {
    const config = parseConfig(testConfigYaml('/srv/relengd', { stream: sign(`protocol: request-reply, keyring: /etc/relengd/keys, keyIds: [${KEY}]`), extra: REPLIES }), {});
    expect(config.streams[0]!.sign).toEqual({ protocol: 'request-reply', keyring: '/etc/relengd/keys', keyIds: [KEY], timeoutMinutes: 60, retries: 2 });
  });

  it('refuses a request-reply signer when no publisher may send its replies: none would ever count', () => {
    const found = problems(testConfigYaml('/srv/relengd', { stream: sign(`protocol: request-reply, keyring: /etc/relengd/keys, keyIds: [${KEY}]`) }));
    expect(found).toContainEqual(expect.stringMatching(/^streams\[0\]\.sign\.protocol: .*publishers\.coreos\.build\.request\.ostree-sign\.finished/));
  });

  it('needs no reply publishers for robosignatory, which answers with the signature itself', () => {
    expect(problems(testConfigYaml('/srv/relengd', { stream: sign(`protocol: robosignatory, keyring: /etc/relengd/keys, keyIds: [${KEY}], resendMinutes: 5`) }))).toEqual([]);
  });

  it('refuses a key id that is not a fingerprint or long key id, and an empty list', () => {
    expect(problems(testConfigYaml('/srv/relengd', { stream: sign('protocol: robosignatory, keyring: /etc/relengd/keys, keyIds: [DEADBEEF]') }))).toContainEqual(expect.stringContaining('must be a GPG fingerprint'));
    expect(problems(testConfigYaml('/srv/relengd', { stream: sign('protocol: robosignatory, keyring: /etc/relengd/keys, keyIds: []') }))).toContainEqual(expect.stringContaining('must not be empty'));
  });

  it('refuses a relative keyring and a resend no sooner than the timeout', () => {
    expect(problems(testConfigYaml('/srv/relengd', { stream: sign(`protocol: robosignatory, keyring: keys, keyIds: [${KEY}]`) }))).toContainEqual(expect.stringContaining('must be an absolute path'));
    expect(problems(testConfigYaml('/srv/relengd', { stream: sign(`protocol: robosignatory, keyring: /k, keyIds: [${KEY}], timeoutMinutes: 10, resendMinutes: 10`) }))).toContainEqual(
      expect.stringMatching(/resendMinutes: must be less than timeoutMinutes/),
    );
  });

  it('refuses a group whose streams are signed differently', () => {
    const yaml = testConfigYaml('/srv/relengd', { stream: (arch) => (arch === 'x86_64' ? `    sign: { protocol: robosignatory, keyring: /k, keyIds: [${KEY}] }` : '') });
    expect(problems(yaml)).toContainEqual(expect.stringMatching(/^streams\[1\]\.sign: differs from streams\[0\]/));
  });
});

describe('streams[].sign of a group that releases a container image', () => {
  const imageStream = (signFields: string) => () => `    artifacts:
      - name: bootc
        kind: oci
        platform: bootc
        format: oci
        output: "{outputDir}/image"
        command: [rpm-ostree, compose, container-encapsulate, "--repo={repo}", "{commit}", "oci:{outputDir}/image"]
        oci: { repository: quay.io/fedora/bootc, tag: "{version}-{arch}", releaseTag: stable }
    sign: { ${signFields} }`;
  const IMAGE_REPLIES = 'publishers: { coreos.build.request.ostree-sign.finished: [robosignatory], coreos.build.request.artifacts-sign.finished: [robosignatory] }';

  it('takes the lookaside directory the image signatures are in', () => {
    const config = parseConfig(testConfigYaml('/srv/relengd', { stream: imageStream(`protocol: request-reply, keyring: /k, keyIds: [${KEY}], signatures: /srv/sigstore`), extra: IMAGE_REPLIES }), {});
    expect(config.streams[0]!.sign?.signatures).toBe('/srv/sigstore');
  });

  it('refuses one without a signature directory, or whose signer may not answer about images', () => {
    expect(problems(testConfigYaml('/srv/relengd', { stream: imageStream(`protocol: robosignatory, keyring: /k, keyIds: [${KEY}]`) }))).toContainEqual(expect.stringMatching(/^streams\[0\]\.sign\.signatures: is required/));
    expect(problems(testConfigYaml('/srv/relengd', { stream: imageStream(`protocol: request-reply, keyring: /k, keyIds: [${KEY}], signatures: /srv/sigstore`), extra: REPLIES }))).toContainEqual(
      expect.stringMatching(/^streams\[0\]\.sign\.protocol: .*publishers\.coreos\.build\.request\.artifacts-sign\.finished/),
    );
    expect(problems(testConfigYaml('/srv/relengd', { stream: imageStream(`protocol: robosignatory, keyring: /k, keyIds: [${KEY}], signatures: sigstore`) }))).toContainEqual(expect.stringContaining('must be an absolute path'));
  });
});
