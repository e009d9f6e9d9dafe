/**
 * Moving a group's container-image release tags with its refs: the image counterpart of
 * ./release-refs.ts. A tag moves to the manifest list over exactly the tested per-arch images, by
 * digest (never rebuilt); where it stood is recorded in the plan, and a tag that moved since is
 * not moved (compare-and-swap, as for refs; registries have no atomic one, so the window is the
 * read and the copy); after the copy the tag must resolve to exactly that digest.
 * For a signed group the list and every arch's image must carry a good signature by a configured
 * key (`skopeo standalone-verify` against the keyring only, for the identity `repository:releaseTag`)
 * before the tag moves; the signer listener has them signed when the list is pushed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RefConflictError, RelengdError } from '../../errors.ts';
import { imageDigestOf } from '../../events/relengd/artifact.ts';
import type { Logger } from '../../log.ts';
import { verifyImageSignatures, type Run } from '../../registry/index.ts';
import { tagReference } from '../../config/index.ts';
import type { SignVerification } from './sign-specs.ts';
import type { JobContext } from '../executor.ts';
import type { ArtifactSummary } from '../../events/relengd/artifact.ts';
import type { PlannedImageTag } from '../../events/relengd/release.ts';
import type { ImageRelease } from '../specs.ts';
import { registryFor, registryRun } from './registry-access.ts';

/** Where one release tag goes (`from` null: the tag does not exist yet; `from === to`: no move); `to`: the manifest list over the tested images. */
export type PlannedTagMove = PlannedImageTag;

/** A promotion (or rollback) refused before anything moved. */
export interface TagRefusal {
  reason: 'promotion-failed' | 'unsigned' | 'ref-moved';
  refusal: string;
}

/** What release tags are planned and checked from: a promotion's spec, or a rollback's. */
export interface TagSource {
  /** The group's signing: the list and every arch's image must carry a good signature before a tag moves. */
  sign?: SignVerification | undefined;
  /** The images to plan afresh (a promotion's first run). */
  images?: ImageRelease[] | undefined;
  /** Each arch's artifacts: its image's digest is the one the list must cover (and, signed, is checked). */
  targets: ReadonlyArray<{ arch: string; artifacts: readonly ArtifactSummary[] }>;
}

/** The tag did not resolve to the list's digest after the copy (the registry converted it, or someone pushed at once). */
export class TagNotMovedError extends RelengdError {
  constructor(reference: string, expected: string, actual: string | null) {
    super(`${reference} resolves to ${actual ?? 'nothing'} after the copy, not ${expected}`);
  }
}

const planFile = (workdir: string): string => join(workdir, 'image-plan.json');

/** The release tags of one promotion (or rollback) job: plan once, move after the refs, put back when it fails. */
export interface ReleaseTags {
  /** Plans every tag (re-planning when called again), or checks the given plan still holds; a refusal leaves the registry untouched. */
  plan(): Promise<TagRefusal | null>;
  /** The plan as written (empty before `plan`, or with no images). */
  planned(): PlannedTagMove[];
  /** Moves the planned tags; on a failure puts back those it moved and returns the tag and error. */
  move(): Promise<{ tag: string; error: Error } | null>;
  /** Puts every moved tag back where the plan found it (the refs were rolled back). */
  putBack(): Promise<void>;
  /** The tags as `release.promoted` reports them: `from` null when the tag did not move. */
  released(): Array<{ name: string; repository: string; tag: string; from: string | null; to: string }>;
}

/**
 * `given`: the tags were planned before (a promotion resumed after signing: its first run's plan; a
 * rollback: back to the digests the earlier release moved them to): `plan` does not plan afresh, it
 * checks each tag still stands where that plan found it and, for a signed group, that what it moves
 * to is signed. `nothingWas` ends a refusal's detail (`promoted`, `rolled back`).
 */
export function releaseTags(ctx: JobContext, spec: TagSource, given?: readonly PlannedTagMove[], nothingWas = 'promoted'): ReleaseTags {
  const run = registryRun(ctx);
  const file = planFile(ctx.workdir);
  let plan: PlannedTagMove[] | null = null;
  const planned = (): PlannedTagMove[] => (plan ??= existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PlannedTagMove[]) : []);
  return {
    async plan() {
      const result = given ? await checkPlannedTags(given, spec, run, nothingWas) : await planTags(spec, run, ctx.logger);
      if ('refusal' in result) return result;
      plan = result.tags;
      writeFileSync(file, JSON.stringify(plan));
      return null;
    },
    planned,
    move: () => moveTags(planned(), run, ctx.logger),
    putBack: () => putBackTags(planned(), run, ctx.logger, 'the release failed after the tags moved'),
    released: () => planned().map((m) => ({ name: m.name, repository: m.repository, tag: m.tag, from: m.from === m.to ? null : m.from, to: m.to })),
  };
}

/**
 * For each configured image: every arch's tested image (its digest from the candidate's artifacts),
 * the manifest list at `listTag` which must cover exactly those, and where the release tag is now.
 * An image that not every arch has is not released (all arches or none): its tag stays.
 */
export async function planTags(spec: TagSource, run: Run, logger: Logger): Promise<{ tags: PlannedTagMove[] } | TagRefusal> {
  const tags: PlannedTagMove[] = [];
  for (const release of spec.images ?? []) {
    const tested = testedImages(spec, release.name);
    const missing = tested.filter((t) => t.digest === null).map((t) => t.arch);
    if (missing.length > 0) {
      logger.warn({ image: release.name, missing }, 'image not released: not every arch has it, so its release tag stays');
      continue;
    }
    const registry = registryFor(release, run);
    const list = await registry.manifest({ tag: release.listTag });
    const where = `${release.repository}:${release.listTag}`;
    if (!list) return { reason: 'promotion-failed', refusal: `no manifest list at ${where} (it is pushed once every arch's image is in); nothing was promoted` };
    if (list.kind !== 'index') return { reason: 'promotion-failed', refusal: `${where} is one image, not the manifest list over the arches; nothing was promoted` };
    const covered = list.manifests.map((m) => m.digest).sort();
    const expected = tested.map((t) => t.digest!).sort();
    if (JSON.stringify(covered) !== JSON.stringify(expected)) {
      return { reason: 'promotion-failed', refusal: `${where} (${list.digest}) covers ${covered.join(', ')}, not the tested images ${tested.map((t) => `${t.arch} ${t.digest}`).join(', ')}; nothing was promoted` };
    }
    if (spec.sign) {
      const unsigned = await unsignedDigests(release, [{ what: 'the manifest list', digest: list.digest }, ...tested.map((t) => ({ what: `the ${t.arch} image`, digest: t.digest! }))], spec.sign, run);
      if (unsigned.length > 0) return { reason: 'unsigned', refusal: `${release.repository}:${release.releaseTag} would move to ${list.digest}, but ${unsigned.join('; ')}; nothing was promoted` };
    }
    const { releaseTag, ...image } = release;
    tags.push({ ...image, tag: releaseTag, from: await registry.tagDigest(releaseTag), to: list.digest });
  }
  return { tags };
}

/** Each arch's image `name` as the targets' artifacts name it (digest null: the arch has none). */
function testedImages(spec: TagSource, name: string): Array<{ arch: string; digest: string | null }> {
  return spec.targets.map((t) => {
    const artifact = t.artifacts.find((a) => a.name === name);
    return { arch: t.arch, digest: artifact ? imageDigestOf(artifact) : null };
  });
}

/**
 * A plan made before: every tag that moves must still stand where the plan found it (or already
 * where it goes), else `ref-moved`; for a signed group the list it moves to and every arch's image
 * of it must carry a good signature. Nothing is planned afresh: the tag moves exactly as planned.
 */
export async function checkPlannedTags(given: readonly PlannedTagMove[], spec: TagSource, run: Run, nothingWas: string): Promise<{ tags: PlannedTagMove[] } | TagRefusal> {
  for (const m of given) {
    if (m.from === m.to) continue;
    const reference = `${m.repository}:${m.tag}`;
    const current = await registryFor(m, run).tagDigest(m.tag);
    if (current !== m.from && current !== m.to) {
      return { reason: 'ref-moved', refusal: `${reference} is at ${current ?? '(no such tag)'}, not at ${m.from ?? '(no tag)'} where relengd planned to move it from: it was moved since; nothing was ${nothingWas}` };
    }
    if (spec.sign) {
      const arches = testedImages(spec, m.name).flatMap((t) => (t.digest === null ? [] : [{ what: `the ${t.arch} image`, digest: t.digest }]));
      const unsigned = await unsignedDigests({ ...m, releaseTag: m.tag }, [{ what: 'the manifest list', digest: m.to }, ...arches], spec.sign, run);
      if (unsigned.length > 0) return { reason: 'unsigned', refusal: `${reference} would move to ${m.to}, but ${unsigned.join('; ')}; nothing was ${nothingWas}` };
    }
  }
  return { tags: [...given] };
}

/** Moves each tag by digest with compare-and-swap on where the plan found it; a tag already at its target is left. */
export async function moveTags(moves: readonly PlannedTagMove[], run: Run, logger: Logger): Promise<{ tag: string; error: Error } | null> {
  for (const [i, m] of moves.entries()) {
    if (m.from === m.to) continue;
    const registry = registryFor(m, run);
    const reference = `${m.repository}:${m.tag}`;
    try {
      const current = await registry.tagDigest(m.tag);
      if (current === m.to) continue; // an earlier attempt moved it
      if (current !== m.from) throw new RefConflictError(reference, m.from, current);
      await registry.tagDigestAs(m.to, m.tag);
      const after = await registry.tagDigest(m.tag);
      if (after !== m.to) throw new TagNotMovedError(reference, m.to, after);
      logger.info({ image: reference, from: m.from, to: m.to }, 'release tag moved');
    } catch (error) {
      await putBackTags(moves.slice(0, i + 1), run, logger, String(error));
      return { tag: reference, error: error as Error };
    }
  }
  return null;
}

/**
 * Puts each tag that stands where the plan moved it back where the plan found it, newest first. A
 * tag the promotion created cannot be removed (the registry API deletes manifests, which would take
 * every tag of the list with it): it is left and said so.
 */
export async function putBackTags(moves: readonly PlannedTagMove[], run: Run, logger: Logger, why: string): Promise<void> {
  const undone: string[] = [];
  for (const m of [...moves].reverse()) {
    if (m.from === m.to) continue;
    const registry = registryFor(m, run);
    const reference = `${m.repository}:${m.tag}`;
    try {
      if ((await registry.tagDigest(m.tag)) !== m.to) continue;
      if (m.from === null) {
        logger.error({ image: reference, digest: m.to }, 'release tag created by this promotion left in place: a registry cannot remove a tag alone; move or delete it by hand');
        continue;
      }
      await registry.tagDigestAs(m.from, m.tag);
      undone.push(reference);
    } catch (error) {
      logger.error({ err: error, image: reference, to: m.from }, 'PUTTING BACK FAILED: release tag left moved; fix by hand');
    }
  }
  if (undone.length > 0) logger.warn({ why, putBack: undone }, 'release tag moves undone');
}

/**
 * Why each of `digests` does not count as signed for `release` (none: all do): a good signature by a
 * configured key, over exactly the manifest the registry serves for the digest, for the identity
 * the release tag gives it, found in the lookaside directory.
 */
async function unsignedDigests(release: ImageRelease, digests: ReadonlyArray<{ what: string; digest: string }>, sign: SignVerification, run: Run): Promise<string[]> {
  if (release.signatures === undefined) return [`no signature directory is configured for it (sign.signatures)`];
  const registry = registryFor(release, run);
  const identity = tagReference(release.repository, release.releaseTag);
  const problems: string[] = [];
  for (const { what, digest } of digests) {
    const manifest = await registry.manifestBytes(digest);
    if (!manifest) {
      problems.push(`${what} ${digest} is not in the registry`);
      continue;
    }
    const checks = await verifyImageSignatures({ manifest, repository: release.repository, digest, identity, signatures: release.signatures, keyring: sign.keyring, keyIds: sign.keyIds, run });
    if (checks.some((c) => c.status === 'good')) continue;
    const found = checks.length === 0 ? 'it carries no signature' : `its signatures: ${checks.map((c) => c.detail).join('; ')}`;
    problems.push(`${what} ${digest} is not signed by ${sign.keyIds.join(', ')} for ${identity} (${found})`);
  }
  return problems;
}
