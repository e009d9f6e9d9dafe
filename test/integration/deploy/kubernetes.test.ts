/**
 * relengd started the way deploy/kubernetes starts it: the ConfigMap's configuration, each volume
 * and Secret item at its mount path (local directories standing in for them), the probes and the
 * ServiceMonitor asking the real HTTP server, SIGTERM as the kubelet stops the pod.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { preflight } from '../../../src/cli/preflight.ts';
import { loadConfigFile } from '../../../src/config/index.ts';
import { runCli, spawnDaemon, type DaemonProcess } from '../../helpers/process.ts';
import { tempDir } from '../../helpers/tmp.ts';
import { relocateConfig, secretFileContent, selfSignedPem, writeFileIn, type Pem } from './config-paths.ts';
import { configArgument, imageCommand, kubernetesObjects, type K8sObject } from './deploy-files.ts';
import { mountedConfig, mounts, relengdContainer, relengdWorkload } from './kubernetes-manifests.ts';
import { probe } from './probe.ts';
import { stopsOnSigterm } from './stop.ts';

const opensslPresent = spawnSync('openssl', ['version']).status === 0;
const opensslMissing = 'openssl is not installed (it makes the Secrets\' certificates)';
if (!opensslPresent && process.env.CI === 'true') throw new Error(`CI=true but ${opensslMissing}`);
if (!opensslPresent) console.warn(`skipping the Kubernetes daemon tests: ${opensslMissing}`);

const configPath = configArgument(imageCommand())!;

/** A Secret's item as the cluster would hold it: the shipped placeholder, or (`filled`) a usable value. */
type SecretItem = (secretName: string, key: string) => string;

function shippedSecret(name: string): Record<string, string> | undefined {
  const secret = kubernetesObjects().find((o) => o.kind === 'Secret' && o.metadata.name === name) as (K8sObject & { stringData?: Record<string, string> }) | undefined;
  return secret?.stringData;
}

/** Local directories for the pod's volumes, Secret items written into theirs; returns the config file, moved onto them. */
function stagePod(root: string, secretItem: SecretItem): string {
  const local = new Map<string, string>();
  for (const m of mounts()) {
    if (m.mountPath === configPath) continue;
    const dir = join(root, 'volumes', m.volume.name);
    mkdirSync(dir, { recursive: true });
    local.set(m.mountPath, dir);
    if ('secret' in m.volume && m.volume.secret) {
      const { secretName, items = [] } = m.volume.secret;
      for (const item of items) writeFileIn(join(dir, item.path), secretItem(secretName, item.key));
    }
  }
  const file = join(root, 'configmap', 'relengd.yaml');
  writeFileIn(file, relocateConfig(mountedConfig(configPath).text, local));
  return file;
}

describe.skipIf(!opensslPresent)('relengd as deploy/kubernetes runs it', () => {
  const container = relengdContainer();
  let daemon: DaemonProcess | undefined;
  afterEach(() => {
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGKILL');
    daemon = undefined;
  });

  it('starts with its Secrets filled in: every probe answers 200 on its path and scheme, /metrics as the ServiceMonitor scrapes it, and SIGTERM ends it cleanly', { timeout: 90_000 }, async () => {
    const root = tempDir();
    const pem: Pem = selfSignedPem(join(root, 'pki'));
    const file = stagePod(root, (_secret, key) => secretFileContent(key, pem));

    // Everything `start` checks before connecting, with the configured broker transport: the token
    // file, the HTTPS certificate and the broker's TLS files are where the config says.
    expect(() => preflight(loadConfigFile(file, {}), { serveHttp: true, env: {} })).not.toThrow();

    // The broker (rabbitmq.example.org) is not reachable from here: the embedded transport stands in.
    daemon = await spawnDaemon(file, { RELENGD_TRANSPORT: 'embedded', RELENGD_HTTP_PORT: '0' });
    for (const [name, p] of Object.entries({ startup: container.startupProbe!, liveness: container.livenessProbe!, readiness: container.readinessProbe! })) {
      expect(daemon.url.startsWith(`${p.httpGet.scheme?.toLowerCase() ?? 'http'}://`), `${name} probe scheme`).toBe(true);
      expect(await probe(daemon.url, p.httpGet.path, pem.cert), `${name} probe ${p.httpGet.path}`).toMatchObject({ status: 200 });
    }
    const monitor = kubernetesObjects().find((o) => o.kind === 'ServiceMonitor') as K8sObject & { spec: { endpoints: Array<{ path: string }> } };
    for (const endpoint of monitor.spec.endpoints) {
      const scraped = await probe(daemon.url, endpoint.path, pem.cert);
      expect(scraped.status).toBe(200);
      expect(scraped.body).toMatch(/^relengd_transport_ready\{[^}]*\} 1$/m);
    }

    const grace = relengdWorkload().spec.template.spec.terminationGracePeriodSeconds ?? 30;
    expect(await stopsOnSigterm(daemon, grace * 1000)).toBe(0);
  });

  it('refuses to start with the placeholder Secrets as shipped (exit 2, naming the token)', { timeout: 60_000 }, async () => {
    const root = tempDir();
    const pem = selfSignedPem(join(root, 'pki'));
    const file = stagePod(root, (secret, key) => shippedSecret(secret)?.[key] ?? secretFileContent(key, pem));
    const result = await runCli(['--config', file, 'config', 'check']);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).toMatch(/http\.auth\.tokens\[0\]\.file: .* is empty/);
  });
});
