import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * HTTP tokens for two operators, `releng` and `ci`, in files under `dir`, and an edit of the
 * pipeline's YAML (the demo's config, src/cli/demo/scenario.ts: http on port 8089, `promote.requested`
 * allowed to releng) that authenticates them and allows `releng` also `topic`. `ci` is the authenticated
 * outsider: known to the daemon, allowed nothing more.
 */
export function withOperatorTokens(dir: string, tokens: { releng: string; ci: string }, topic: string): (yaml: string) => string {
  writeFileSync(join(dir, 'token-releng'), `${tokens.releng}\n`);
  writeFileSync(join(dir, 'token-ci'), `${tokens.ci}\n`);
  return (yaml) =>
    yaml
      .replace(/^http: \{ host: 127\.0\.0\.1, port: 8089 \}$/m, `http: { host: 127.0.0.1, port: 8089, auth: { tokens: [{ name: releng, file: ${join(dir, 'token-releng')} }, { name: ci, file: ${join(dir, 'token-ci')} }] } }`)
      .replace('  relengd.release.promote.requested: [releng]\n', `  relengd.release.promote.requested: [releng]\n  ${topic}: [releng]\n`);
}
