/** Thin typed wrappers over skopeo, umoci and buildah (container-image streams): argv arrays, parsed results. */
export { Registry, InvalidImageReferenceError } from './skopeo.ts';
export type { ImageConfig, RegistryOptions } from './skopeo.ts';
export { buildImageFromLayer, InvalidImageArgumentError, LAYOUT_TAG } from './umoci.ts';
export type { LayerImage } from './umoci.ts';
export { pushIndex } from './buildah.ts';
export type { IndexPush } from './buildah.ts';
export { MEDIA_TYPES, ManifestParseError, imageSize, manifestDigest, parseManifest } from './manifest.ts';
export type { Descriptor, ImageManifest, IndexManifest, Manifest } from './manifest.ts';
export { ociArchitecture } from './platform.ts';
export { execRun } from './run.ts';
export type { ExecRunOptions, Run, RunResult } from './run.ts';
export { signImage, signatureDir, signatureFiles, verifyImageSignatures } from './signature.ts';
export type { ImageSignatureCheck } from './signature.ts';
