/**
 * Fedora CoreOS's signing requests and robosignatory's replies (fedora-coreos-releng-automation,
 * robosignatory's coreos consumer): the build pipeline asks on `coreos.build.request.<kind>` and the
 * signer answers on `coreos.build.request.<kind>.finished`, echoing the request with a `status`.
 * cosalib's `send_request_and_wait_for_response` adds a `request_id` that the reply echoes; the
 * captured examples have none, so the schemas leave it optional and relengd matches only replies
 * that carry the id of one of its requests.
 */
import { z } from 'zod';

/** The request's correlation id, echoed by the reply (cosalib: a UUID). */
const RequestId = z.string().min(1).max(128);

/** `sha256:<hex>`: the digest of the object to sign. For an OSTree commit object that is the commit checksum itself. */
const Digest = z.string();

/** coreos.build.request.ostree-sign: sign one OSTree commit object. */
export const OstreeSignRequest = z.looseObject({
  request_id: RequestId.optional(),
  /** The build (relengd: the version of the commit). */
  build_id: z.string(),
  basearch: z.string(),
  /** Where the commit object is: `s3://…` for Fedora CoreOS, `file://<repo>/objects/xx/yyyy.commit` from relengd. */
  commit_object: z.string(),
  checksum: Digest,
});
export type OstreeSignRequest = z.infer<typeof OstreeSignRequest>;

/** The reply's verdict fields: `status` SUCCESS or FAILURE (kept a free string), and why on failure. */
const Reply = { status: z.string(), 'failure-message': z.string().optional() };

/** coreos.build.request.ostree-sign.finished: the signer's answer, the request echoed plus its status. */
export const OstreeSignFinished = OstreeSignRequest.extend(Reply);
export type OstreeSignFinished = z.infer<typeof OstreeSignFinished>;

/**
 * One file to sign. relengd asks for a container image's manifest as `docker://repo@sha256:…` and says
 * which docker reference the (simple-signing) signature binds it to: the tag it is released as.
 */
const SignedArtifact = z.looseObject({ file: z.string(), checksum: Digest, 'docker-reference': z.string().optional() });

/** coreos.build.request.artifacts-sign: sign files (images), each with a detached signature next to it. */
export const ArtifactsSignRequest = z.looseObject({
  request_id: RequestId.optional(),
  build_id: z.string(),
  basearch: z.string(),
  artifacts: z.array(SignedArtifact),
});
export type ArtifactsSignRequest = z.infer<typeof ArtifactsSignRequest>;

/** coreos.build.request.artifacts-sign.finished: the signer's answer about the files. */
export const ArtifactsSignFinished = ArtifactsSignRequest.extend(Reply);
export type ArtifactsSignFinished = z.infer<typeof ArtifactsSignFinished>;

/** Whether a reply says the signer did its part. relengd then checks the signature itself. */
export function replySucceeded(reply: { status: string }): boolean {
  return reply.status === 'SUCCESS';
}
