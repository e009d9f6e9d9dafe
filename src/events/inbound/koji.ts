/**
 * Koji (buildsys) messages: builds entering or leaving tags, and tag repos being regenerated.
 * Streams name the tags they depend on, so the tag is what listeners key on.
 */
import { z } from 'zod';

/** Fields common to tag and untag: which build moved and in which tag. */
const tagChangeShape = {
  tag: z.string(),
  name: z.string(),
  version: z.string(),
  release: z.string(),
  tag_id: z.number().optional(),
  /** Absent from the oldest (2012-era) captures. */
  build_id: z.number().optional(),
  user: z.string().optional(),
  owner: z.string().optional(),
  /** Koji instance (`primary`); added by later plugin versions. */
  instance: z.string().optional(),
  base_url: z.string().optional(),
};

/**
 * A build was tagged into a Koji tag. Covers the old shape (no `build_id`/`instance`)
 * and the newer one (`build_id`, `instance`, sometimes `base_url`).
 */
export const KojiTag = z.looseObject(tagChangeShape);
export type KojiTag = z.infer<typeof KojiTag>;

/** A build was untagged from a Koji tag. Same shapes as `buildsys.tag`. */
export const KojiUntag = z.looseObject(tagChangeShape);
export type KojiUntag = z.infer<typeof KojiUntag>;

/**
 * Koji regenerated a tag's repo (`f33-build`); image and installer rebuilds wait for it.
 * Covers the minimal shape (`tag`, `tag_id`, `repo_id`) and the one with `instance`/`base_url`.
 */
export const KojiRepoDone = z.looseObject({
  tag: z.string(),
  tag_id: z.number().optional(),
  repo_id: z.number().optional(),
  instance: z.string().optional(),
  base_url: z.string().optional(),
});
export type KojiRepoDone = z.infer<typeof KojiRepoDone>;

/** The Koji tag a tag, untag or repo.done message is about. */
export function kojiTagOf(body: KojiTag | KojiUntag | KojiRepoDone): string {
  return body.tag;
}

/** The NVR (`name-version-release`) of the build a tag or untag message moved. */
export function kojiNvrOf(body: KojiTag | KojiUntag): string {
  return `${body.name}-${body.version}-${body.release}`;
}
