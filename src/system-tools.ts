/**
 * The programs relengd runs, and the package that brings each on Debian and Fedora: a missing
 * program is reported as what to install, never as a spawn error.
 */
import { basename } from 'node:path';

const PACKAGES: Readonly<Record<string, { apt: string; dnf: string }>> = {
  ostree: { apt: 'ostree', dnf: 'ostree' },
  'rpm-ostree': { apt: 'rpm-ostree', dnf: 'rpm-ostree' },
  lorax: { apt: 'lorax', dnf: 'lorax' },
  koji: { apt: 'koji', dnf: 'koji' },
  gpg: { apt: 'gnupg', dnf: 'gnupg2' },
  skopeo: { apt: 'skopeo', dnf: 'skopeo' },
  umoci: { apt: 'umoci', dnf: 'umoci' },
  buildah: { apt: 'buildah', dnf: 'buildah' },
};

/** `ostree is not installed (apt-get install ostree / dnf install ostree)`; for a program we do not know, that PATH lacks it. */
export function notInstalledMessage(program: string): string {
  const name = basename(program);
  const pkg = PACKAGES[name];
  if (pkg && !program.includes('/')) return `${name} is not installed (apt-get install ${pkg.apt} / dnf install ${pkg.dnf})`;
  return program.includes('/') ? `${program} does not exist` : `${program} is not installed (not found on PATH)`;
}
