/**
 * A stand-in for robosignatory, for the demo and the tests: it takes relengd's signing requests as
 * relengd publishes them (Fedora CoreOS's `coreos.build.request.ostree-sign`, or a
 * `pungi.compose.ostree` announcement), signs the commit in its repository with a throwaway key
 * (`ostree gpg-sign --gpg-homedir`), and answers a request the way robosignatory does (the request
 * echoed with `status: SUCCESS` on `….finished`), as an authenticated publisher. Given a lookaside
 * directory it signs container images too (`coreos.build.request.artifacts-sign`, each image by digest):
 * `skopeo standalone-sign` for the docker reference the request names, stored as containers do.
 */
import type { EmbeddedTransport } from '../../bus/embedded/transport.ts';
import type { DeliverBatch, PublishItem } from '../../bus/transport.ts';
import { parseDigestReference } from '../../config/index.ts';
import type { ArtifactsSignRequest, OstreeSignRequest } from '../../events/inbound/sign.ts';
import { execRun, Registry, signImage } from '../../registry/index.ts';
import type { PungiComposeOstree } from '../../events/inbound/pungi.ts';
import { withPrefix } from '../../events/topics.ts';
import type { Logger } from '../../log.ts';
import { isChecksum, madeByOneOf, openRepo } from '../../ostree/index.ts';
import type { SigningKey } from './throwaway-key.ts';

export const REQUEST_TOPIC = 'coreos.build.request.ostree-sign';
export const REPLY_TOPIC = 'coreos.build.request.ostree-sign.finished';
export const ANNOUNCEMENT_TOPIC = 'pungi.compose.ostree';
export const IMAGE_REQUEST_TOPIC = 'coreos.build.request.artifacts-sign';
export const IMAGE_REPLY_TOPIC = 'coreos.build.request.artifacts-sign.finished';

/** What a request asks to have signed. */
export interface SignTarget {
  repo: string;
  commit: string;
}

/** The commit a published request or announcement names; null for anything else. */
export function signTargetOf(topic: string, data: unknown): SignTarget | null {
  if (topic === REQUEST_TOPIC) {
    const request = data as OstreeSignRequest;
    const m = /^file:\/\/(.+)\/objects\/([0-9a-f]{2})\/([0-9a-f]{62})\.commit$/.exec(request.commit_object);
    if (!m) return null;
    const commit = `${m[2]}${m[3]}`;
    return request.checksum === `sha256:${commit}` ? { repo: decodeURIComponent(m[1]!), commit } : null;
  }
  if (topic === ANNOUNCEMENT_TOPIC) {
    const announced = data as PungiComposeOstree;
    return announced.local_repo_path && announced.commitid && isChecksum(announced.commitid) ? { repo: announced.local_repo_path, commit: announced.commitid } : null;
  }
  return null;
}

/** Signs the commit with `key`, unless it carries a good signature by that key already (ostree would add another). */
export async function signCommit(target: SignTarget, key: SigningKey): Promise<void> {
  const repo = openRepo(target.repo);
  const signatures = await repo.gpgSignatures(target.commit, key.keyring);
  if (signatures.some((s) => s.status === 'good' && madeByOneOf(s, [key.fingerprint]))) return;
  await repo.gpgSign(target.commit, [key.fingerprint], key.gpgHome);
}

/** robosignatory's reply to a request: the request echoed, with the status (and why, on failure), as `publisher` sent it. */
export function replyDelivery(request: OstreeSignRequest | ArtifactsSignRequest, o: { status: 'SUCCESS' | 'FAILURE'; failure?: string; publisher: string; topicPrefix: string }): Parameters<DeliverBatch>[0][number] {
  const data = { ...request, status: o.status, ...(o.failure ? { 'failure-message': o.failure } : {}) };
  return {
    transport: 'standin-signer',
    source: 'live',
    raw: Buffer.from(JSON.stringify(data)),
    rawIsData: true,
    headers: {},
    decoded: { topic: withPrefix('artifacts' in request ? IMAGE_REPLY_TOPIC : REPLY_TOPIC, o.topicPrefix), data, publisher: o.publisher },
  };
}

export interface StandinSignerOptions {
  key: SigningKey;
  /** Where replies go: the daemon's intake, as a broker would deliver them. */
  deliver: DeliverBatch;
  /** Who the replies come from (robosignatory's user_id): allowed in `publishers`. */
  publisher: string;
  topicPrefix: string;
  logger: Logger;
  /** Where image signatures go (the lookaside directory relengd reads, `sign.signatures`); without it image requests are not answered. */
  signatures?: string | undefined;
  /** `--tls-verify` when reading an image's manifest (false: a loopback test registry). @default true */
  registryTlsVerify?: boolean | undefined;
}

/** Signs and answers each request the embedded transport publishes, in the background; `idle()` waits for that. */
export class StandinSigner {
  readonly #o: StandinSignerOptions;
  readonly #pending = new Set<Promise<void>>();

  constructor(options: StandinSignerOptions) {
    this.#o = options;
  }

  /** Takes the requests published on `transport` from now on; returns what stops that. */
  attach(transport: EmbeddedTransport): () => void {
    const off = [REQUEST_TOPIC, ANNOUNCEMENT_TOPIC, IMAGE_REQUEST_TOPIC].map((topic) => transport.subscribe(`#.${topic}`, (item) => this.take(item)));
    return () => off.forEach((stop) => stop());
  }

  take(item: PublishItem): void {
    const { topic, data } = item.envelope;
    if (topic === IMAGE_REQUEST_TOPIC) return this.#track(this.#answerImages(data as ArtifactsSignRequest), (data as ArtifactsSignRequest).build_id);
    const target = signTargetOf(topic, data);
    if (target) this.#track(this.#answer(topic, data, target), target.commit);
  }

  #track(answering: Promise<void>, what: string): void {
    const work = answering.catch((error: unknown) => this.#o.logger.error({ err: error, what }, 'stand-in signer failed')).finally(() => this.#pending.delete(work));
    this.#pending.add(work);
  }

  /** Resolves when nothing is being signed or answered; true when it had something to wait for. */
  async idle(): Promise<boolean> {
    if (this.#pending.size === 0) return false;
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    return true;
  }

  async #answer(topic: string, data: unknown, target: SignTarget): Promise<void> {
    await signCommit(target, this.#o.key);
    if (topic !== REQUEST_TOPIC) return; // robosignatory does not answer Pungi's announcements: the signature in the repository is the answer
    await this.#o.deliver([replyDelivery(data as OstreeSignRequest, { status: 'SUCCESS', publisher: this.#o.publisher, topicPrefix: this.#o.topicPrefix })]);
  }

  /** Signs each image of an artifacts-sign request into the lookaside directory, as robosignatory signs Fedora CoreOS's images, and replies. */
  async #answerImages(request: ArtifactsSignRequest): Promise<void> {
    const signatures = this.#o.signatures;
    if (signatures === undefined) return;
    const images = request.artifacts.map((a) => ({ image: signedImageOf(a), identity: a['docker-reference'] }));
    if (images.some((i) => !i.image || !i.identity)) {
      await this.#o.deliver([replyDelivery(request, { status: 'FAILURE', failure: 'not an image by digest with a docker-reference', publisher: this.#o.publisher, topicPrefix: this.#o.topicPrefix })]);
      return;
    }
    for (const { image, identity } of images) {
      const registry = new Registry({ repository: image!.repository, tlsVerify: this.#o.registryTlsVerify ?? true });
      const manifest = await registry.manifestBytes(image!.digest);
      if (!manifest) throw new Error(`${image!.repository}@${image!.digest} is not in the registry`);
      await signImage({ manifest, ...image!, identity: identity!, signatures, gpgHome: this.#o.key.gpgHome, fingerprint: this.#o.key.fingerprint, run: execRun() });
    }
    await this.#o.deliver([replyDelivery(request, { status: 'SUCCESS', publisher: this.#o.publisher, topicPrefix: this.#o.topicPrefix })]);
  }
}

/** The image an artifacts-sign request names (`docker://repo@sha256:…`, its checksum the digest); null for anything else. */
export function signedImageOf(artifact: { file: string; checksum: string }): { repository: string; digest: string } | null {
  if (!artifact.file.startsWith('docker://')) return null;
  const image = parseDigestReference(artifact.file.slice('docker://'.length));
  return image && image.digest === artifact.checksum ? image : null;
}
