/**
 * A signed container-image stream end to end: the demo's two-week streams, signed by request and
 * reply with a throwaway key, each arch's commit built into an image on a loopback registry and one
 * manifest list over them. The list's digest and every arch's image digest are signed
 * (`coreos.build.request.artifacts-sign`, simple signing into a lookaside directory) before the
 * release tag moves; an unsigned list, or one signed by another key, holds the promotion.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EmbeddedTransport } from '../../src/bus/embedded/transport.ts';
import { startDaemon } from '../../src/cli/daemon.ts';
import { DEMO_ARCHES, DEMO_GROUP, DEMO_SIGNER, DEMO_VERSION, demoConfigYaml, demoSteps, demoTreefile } from '../../src/cli/demo/scenario.ts';
import { ANNOUNCEMENT_TOPIC, IMAGE_REQUEST_TOPIC, REQUEST_TOPIC, replyDelivery, signCommit, signedImageOf, StandinSigner } from '../../src/cli/demo/standin-signer.ts';
import { stopAgent, throwawayKey, type SigningKey } from '../../src/cli/demo/throwaway-key.ts';
import { parseConfig } from '../../src/config/index.ts';
import type { Envelope } from '../../src/events/envelope.ts';
import type { ArtifactsSignRequest } from '../../src/events/inbound/sign.ts';
import { silentLogger } from '../../src/log.ts';
import { openRepo } from '../../src/ostree/index.ts';
import { candidateGates } from '../../src/pipeline/candidate-reads.ts';
import { PROMOTION, type Candidate } from '../../src/pipeline/listeners/promoter.ts';
import { execRun, Registry, signImage, signatureFiles } from '../../src/registry/index.ts';
import { node } from '../helpers/executor-context.ts';
import { STANDIN_OCI, registryToolsMissingReason, startRegistry, type RunningRegistry } from '../helpers/registry.ts';
import { tempDir } from '../helpers/tmp.ts';
import { syncStore } from '../helpers/sync-store.ts';

const skip = registryToolsMissingReason !== undefined;
const suffix = skip ? ` (skipped: ${registryToolsMissingReason})` : '';
const PREFIX = 'org.fedoraproject.prod';
const WAIT = { timeout: 90_000, interval: 50 };

let registryDir: string;
let registry: RunningRegistry;
const cleanups: Array<() => Promise<void>> = [];
beforeAll(async () => {
  if (skip) return;
  registryDir = mkdtempSync(join(tmpdir(), 'relengd-e2e-registry-'));
  registry = await startRegistry(registryDir);
});
afterAll(async () => {
  if (skip) return;
  await registry.stop();
  rmSync(registryDir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The demo's signed two-week streams with a bootc image each (pushed to `repository`, released as `stable`), image signatures in `signatures`. */
function imageStreamYaml(dir: string, key: SigningKey, repository: string, signatures: string): string {
  let stream = 0;
  return demoConfigYaml(dir, process.execPath, { signing: { keyring: key.keyring, keyId: key.fingerprint } })
    .replace(/    artifacts:\n/g, () => {
      const arch = DEMO_ARCHES[stream++]!;
      const command = [node, STANDIN_OCI, '--repo={repo}', '--commit={commit}', `--arch=${arch}`, '--out={outputDir}/image'];
      return `    artifacts:
      - name: bootc
        kind: oci
        platform: bootc
        format: oci
        output: "{outputDir}/image"
        command: ${JSON.stringify(command)}
        oci: { repository: ${repository}, tag: "{version}-{arch}", listTag: "{version}", releaseTag: stable, tlsVerify: false }
`;
    })
    .replaceAll('    sign:\n      protocol: request-reply\n', `    sign:\n      protocol: request-reply\n      signatures: ${signatures}\n`)
    .replace('  coreos.build.request.ostree-sign.finished: [robosignatory]', `  coreos.build.request.ostree-sign.finished: [${DEMO_SIGNER}]\n  coreos.build.request.artifacts-sign.finished: [${DEMO_SIGNER}]`);
}

/** The pipeline, a stand-in signer answering commits at once and images only when `signImages`. */
async function signedImagePipeline(name: string, options: { signImages: boolean }) {
  const dir = tempDir();
  const key = await throwawayKey(join(dir, 'signer'));
  const other = await throwawayKey(join(dir, 'other-signer'), 'someone else <else@example.org>');
  cleanups.push(() => Promise.all([stopAgent(key.gpgHome), stopAgent(other.gpgHome)]).then(() => undefined));
  mkdirSync(join(dir, 'compose'), { recursive: true });
  for (const arch of DEMO_ARCHES) writeFileSync(join(dir, 'compose', `fedora-atomic-host-${arch}.json`), JSON.stringify(demoTreefile(arch)));
  const repository = registry.repository(name);
  const signatures = join(dir, 'sigstore');
  const config = parseConfig(imageStreamYaml(dir, key, repository, signatures), {});
  await openRepo(join(dir, 'repo')).init('archive');
  const transport = new EmbeddedTransport();
  const published: Envelope[] = [];
  transport.subscribe('#', (item) => published.push(item.envelope));
  const daemon = await startDaemon({ config, logger: silentLogger(), transport, serveHttp: false, signPoll: { initialMs: 20, maxMs: 100 } });
  cleanups.push(() => daemon.stop());
  const signer = new StandinSigner({ key, deliver: (batch) => transport.inject(batch), publisher: DEMO_SIGNER, topicPrefix: PREFIX, logger: silentLogger(), registryTlsVerify: false, ...(options.signImages ? { signatures } : {}) });
  // The signer answers each request as it comes, except those of the topics a test holds back (and answers by hand).
  const held = new Set<string>();
  const offs = [REQUEST_TOPIC, ANNOUNCEMENT_TOPIC, IMAGE_REQUEST_TOPIC].map((topic) =>
    transport.subscribe(`#.${topic}`, (item) => {
      if (!held.has(topic)) signer.take(item);
    }),
  );
  const detach = () => offs.forEach((off) => off());
  cleanups.push(async () => {
    detach();
    await signer.idle();
  });
  const steps = demoSteps(dir);
  const send = (message: { topic: string; data: unknown; publisher?: string }, source: 'live' | 'operator' = 'live') =>
    transport.inject([{ transport: 'test', source, raw: Buffer.from(JSON.stringify(message.data)), headers: {}, decoded: message }]);
  const feed = (index: number) => {
    const step = steps[index]!;
    if (step.prepare) writeFileSync(step.prepare.file, JSON.stringify(step.prepare.content));
    return send(step.message);
  };
  const stored = (topic: string) => syncStore(daemon.store).events.query({ topic, order: 'asc' }).map((e) => e.envelope.data as Record<string, unknown>);
  const imageRequests = () => published.filter((e) => e.topic === 'coreos.build.request.artifacts-sign').map((e) => e.data as ArtifactsSignRequest);
  const os = new Registry({ repository, tlsVerify: false });
  return { daemon, config, key, other, repository, signatures, send, feed, stored, imageRequests, os, transport, held, repo: openRepo(join(dir, 'repo')) };
}

describe.skipIf(skip)(`a signed container-image stream${suffix}`, () => {
  it('signs the manifest list and every arch image, verifies them, then promotes stable to exactly that list', { timeout: 240_000 }, async () => {
    const p = await signedImagePipeline('fedora/signed', { signImages: true });
    await p.feed(0);
    await vi.waitFor(() => expect(p.stored('relengd.image.index.finished')).toHaveLength(1), WAIT);
    const list = p.stored('relengd.image.index.finished')[0]!;
    const digests = [list.digest as string, ...(list.manifests as Array<{ digest: string }>).map((m) => m.digest)];
    // One request per digest, each naming the identity the release tag gives it.
    await vi.waitFor(() => expect(new Set(p.stored('relengd.sign.verified').filter((v) => v.image).map((v) => v.commit)).size).toBe(3), WAIT);
    expect(p.imageRequests().flatMap((r) => r.artifacts.map((a) => a.checksum)).sort()).toEqual([...digests].sort());
    expect(p.imageRequests().flatMap((r) => r.artifacts.map((a) => a['docker-reference']))).toEqual([`${p.repository}:stable`, `${p.repository}:stable`, `${p.repository}:stable`]);
    for (const digest of digests) expect(signatureFiles(p.signatures, p.repository, digest)).toHaveLength(1);
    expect(await p.os.tagDigest('stable')).toBeNull();

    await p.feed(2); // Greenwave: the gates hold, everything is signed: the release goes out
    await vi.waitFor(() => expect(p.stored('relengd.release.promoted')).toHaveLength(1), WAIT);
    expect(p.stored('relengd.release.promoted')[0]).toMatchObject({ images: [{ name: 'bootc', tag: 'stable', from: null, to: list.digest }] });
    expect(await p.os.tagDigest('stable')).toBe(list.digest);
  });

  it('holds the promotion while the list is unsigned, refuses a signature by another key, and promotes once the right key signed it', { timeout: 240_000 }, async () => {
    const p = await signedImagePipeline('fedora/held', { signImages: false });
    await p.feed(0);
    await vi.waitFor(() => expect(p.imageRequests()).toHaveLength(3), WAIT);
    const list = p.stored('relengd.image.index.finished')[0]!;
    const listRequest = p.imageRequests().find((r) => r.artifacts[0]!.checksum === list.digest)!;
    const archRequests = p.imageRequests().filter((r) => r !== listRequest);
    const sign = async (request: ArtifactsSignRequest, key: SigningKey) => {
      const artifact = request.artifacts[0]!;
      const image = signedImageOf(artifact)!;
      const manifest = (await p.os.manifestBytes(image.digest))!;
      await signImage({ manifest, ...image, identity: artifact['docker-reference']!, signatures: p.signatures, gpgHome: key.gpgHome, fingerprint: key.fingerprint, run: execRun() });
      await p.transport.inject([replyDelivery(request, { status: 'SUCCESS', publisher: DEMO_SIGNER, topicPrefix: PREFIX })]);
    };

    // Each arch's image is signed by the key; the list by another, with a SUCCESS reply: relengd checks and refuses it.
    for (const request of archRequests) await sign(request, p.key);
    await sign(listRequest, p.other);
    const verifiedImages = () => new Set(p.stored('relengd.sign.verified').filter((v) => v.image).map((v) => v.commit));
    await vi.waitFor(() => expect(verifiedImages().size).toBe(2), WAIT);
    await vi.waitFor(() => expect(p.stored('relengd.sign.refused')).toMatchObject([{ reason: 'no-valid-signature', arch: 'multi', image: { digest: list.digest } }]), WAIT);

    // An outsider's reply about images is refused at the door.
    const [outsider] = await p.transport.inject([replyDelivery(listRequest, { status: 'SUCCESS', publisher: 'mallory', topicPrefix: PREFIX })]);
    expect(outsider).toMatchObject({ kind: 'rejected', error: { reason: 'unauthorized' } });

    // Greenwave passes and the commits are signed, but the list is not: no promotion; an operator's is refused.
    await p.feed(2);
    await vi.waitFor(() => expect(new Set(p.stored('relengd.sign.verified').filter((v) => !v.image && v.purpose === 'candidate').map((v) => v.commit)).size).toBe(2), WAIT);
    await p.send({ topic: `${PREFIX}.relengd.release.promote.requested`, data: { group: DEMO_GROUP, version: DEMO_VERSION, force: true }, publisher: 'local:releng' }, 'operator');
    await vi.waitFor(() => expect(p.stored('relengd.release.promotion.refused')).toMatchObject([{ reason: 'unsigned', detail: expect.stringContaining(`the manifest list ${list.digest as string} not signed yet`) }]), WAIT);
    expect(await p.daemon.store.jobs.list({ kind: 'promote' })).toEqual([]);
    expect(await p.os.tagDigest('stable')).toBeNull();
    const candidate = await p.daemon.store.state.get(PROMOTION, `${DEMO_GROUP}/${DEMO_VERSION}`) as Candidate;
    const gates = await candidateGates(p.daemon.store, p.config, candidate, (e) => e.envelope.id, 500);
    expect(gates.find((g) => g.label === 'signed')?.state).toBe('passed');
    expect(gates.find((g) => g.label === 'images signed')).toMatchObject({ state: 'pending', detail: `image bootc: the manifest list ${list.digest as string} not signed yet` });

    // The right key signs the list: the waiting job finds it, and the held release goes out.
    await sign(listRequest, p.key);
    await vi.waitFor(() => expect(p.stored('relengd.release.promoted')).toHaveLength(1), WAIT);
    expect(await p.os.tagDigest('stable')).toBe(list.digest);
  });

  it('refuses a promotion resumed after signing when its release tag was moved during the wait, and moves nothing', { timeout: 240_000 }, async () => {
    const p = await signedImagePipeline('fedora/raced', { signImages: true });
    await p.feed(0);
    await vi.waitFor(() => expect(p.stored('relengd.image.index.finished')).toHaveLength(1), WAIT);
    const list = p.stored('relengd.image.index.finished')[0]! as { digest: string; manifests: Array<{ digest: string }> };
    await vi.waitFor(() => expect(new Set(p.stored('relengd.sign.verified').filter((v) => v.image).map((v) => v.commit)).size).toBe(3), WAIT);
    await vi.waitFor(() => expect(new Set(p.stored('relengd.sign.verified').filter((v) => !v.image && v.purpose === 'candidate').map((v) => v.commit)).size).toBe(2), WAIT);

    // From now on the release commits wait for a signature the test gives: the promotion plans its moves and waits.
    p.held.add(REQUEST_TOPIC);
    await p.feed(2);
    await vi.waitFor(() => expect(p.stored('relengd.release.awaiting-signature')).toHaveLength(1), WAIT);
    const awaiting = p.stored('relengd.release.awaiting-signature')[0] as { plan: Array<{ ref: string; from: string | null }>; commits: Array<{ repo: string; commit: string }>; images: unknown[] };
    expect(awaiting.images).toEqual([expect.objectContaining({ name: 'bootc', repository: p.repository, tag: 'stable', from: null, to: list.digest })]);

    // Meanwhile someone else points stable at one arch's image.
    const elsewhere = list.manifests[0]!.digest;
    await p.os.tagDigestAs(elsewhere, 'stable');
    for (const c of awaiting.commits) await signCommit({ repo: c.repo, commit: c.commit }, p.key);

    // The resumed promotion moves the tag from where its first run found it, or not at all: refused, nothing moved.
    await vi.waitFor(() => expect(p.stored('relengd.release.promotion.refused')).toHaveLength(1), WAIT);
    expect(p.stored('relengd.release.promotion.refused')[0]).toMatchObject({ reason: 'ref-moved', detail: expect.stringContaining(`${p.repository}:stable is at ${elsewhere}, not at (no tag)`) });
    const resumed = (await p.daemon.store.jobs.list({ kind: 'promote' })).find((j) => (j.spec as { plan?: unknown }).plan);
    expect(resumed?.spec).toMatchObject({ imagePlan: awaiting.images });
    expect(p.stored('relengd.release.promoted')).toEqual([]);
    expect(await p.os.tagDigest('stable')).toBe(elsewhere);
    for (const move of awaiting.plan) expect(await p.repo.revParse(move.ref)).toBe(move.from);
  });
});
