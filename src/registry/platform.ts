/**
 * Architecture names: RPM's (`x86_64`, what streams say) and the OCI platform's (GOARCH, `amd64`,
 * what image configs and manifest lists say). A manifest list picks an image by the latter.
 */
const OCI_ARCHITECTURES: Readonly<Record<string, string>> = {
  x86_64: 'amd64',
  aarch64: 'arm64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  i686: '386',
  armhfp: 'arm',
};

/** The OCI architecture of a stream's arch; an arch that is already an OCI name (`amd64`) stays itself. */
export function ociArchitecture(arch: string): string {
  return OCI_ARCHITECTURES[arch] ?? arch;
}
