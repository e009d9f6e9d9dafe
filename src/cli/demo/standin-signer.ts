/**
 * A stand-in for robosignatory, for the demo and the tests: it takes relengd's signing requests as
 * relengd publishes them (Fedora CoreOS's `coreos.build.request.ostree-sign`, or a
 * `pungi.compose.ostree` announcement), signs the commit in its repository with a throwaway key
 * (`ostree gpg-sign --gpg-homedir`), and answers a request the way robosignatory does (the request
 * echoed with `status: SUCCESS` on `….finished`), as an authenticated publisher.
 */
import type { EmbeddedTransport } from '../../bus/embedded/transport.ts';
import type { DeliverBatch, PublishItem } from '../../bus/transport.ts';
import type { OstreeSignRequest } from '../../events/inbound/sign.ts';
import type { PungiComposeOstree } from '../../events/inbound/pungi.ts';
import { withPrefix } from '../../events/topics.ts';
import type { Logger } from '../../log.ts';
import { isChecksum, madeByOneOf, openRepo } from '../../ostree/index.ts';
import type { SigningKey } from './throwaway-key.ts';

export const REQUEST_TOPIC = 'coreos.build.request.ostree-sign';
export const REPLY_TOPIC = 'coreos.build.request.ostree-sign.finished';
export const ANNOUNCEMENT_TOPIC = 'pungi.compose.ostree';

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
export function replyDelivery(request: OstreeSignRequest, o: { status: 'SUCCESS' | 'FAILURE'; failure?: string; publisher: string; topicPrefix: string }): Parameters<DeliverBatch>[0][number] {
  const data = { ...request, status: o.status, ...(o.failure ? { 'failure-message': o.failure } : {}) };
  return {
    transport: 'standin-signer',
    source: 'live',
    raw: Buffer.from(JSON.stringify(data)),
    rawIsData: true,
    headers: {},
    decoded: { topic: withPrefix(REPLY_TOPIC, o.topicPrefix), data, publisher: o.publisher },
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
    const off = [REQUEST_TOPIC, ANNOUNCEMENT_TOPIC].map((topic) => transport.subscribe(`#.${topic}`, (item) => this.take(item)));
    return () => off.forEach((stop) => stop());
  }

  take(item: PublishItem): void {
    const { topic, data } = item.envelope;
    const target = signTargetOf(topic, data);
    if (!target) return;
    const work = this.#answer(topic, data, target)
      .catch((error: unknown) => this.#o.logger.error({ err: error, commit: target.commit }, 'stand-in signer failed'))
      .finally(() => this.#pending.delete(work));
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
}
