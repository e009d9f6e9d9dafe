/**
 * deploy/: every manifest parses, and the four deployment forms agree with the code and with each
 * other: the configurations they ship pass relengd's own parser, the ports and probe paths are the
 * ones the configuration serves, every file the configuration names is mounted where it says, and
 * the image runs `relengd start --config` on the file the manifests mount. (The daemon started from
 * these files is in kubernetes.test.ts, compose.test.ts and systemd.test.ts.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../../src/config/index.ts';
import { ConfigError } from '../../../src/errors.ts';
import { BearerTokens } from '../../../src/http/auth.ts';
import { cliPath, projectRoot } from '../../helpers/process.ts';
import { composeDir, composeProject, serviceVolumes, servicePorts } from './compose-file.ts';
import { isUnder, pathsRelengdOpens, relocatePath } from './config-paths.ts';
import {
  configArgument,
  containerfile,
  copiedFromRepository,
  execForm,
  finalStage,
  imageCommand,
  kubernetesObject,
  kubernetesObjects,
  lastInstruction,
  yamlDocuments,
  yamlFiles,
  type K8sObject,
} from './deploy-files.ts';
import { containerPortNumber, mountedConfig, mounts, relengdContainer, relengdWorkload, selects } from './kubernetes-manifests.ts';

const image = containerfile();
const stage = finalStage(image);
const imageConfigPath = configArgument(imageCommand(image))!;
/** The compose file's required variables, as a user exports them. */
const composeEnv = { RELENGD_RELENG_TOKEN: 'trial-token-0123456789abcdef' };

function kubernetesConfig(): Config {
  return parseConfig(mountedConfig(imageConfigPath).text, {}, 'ConfigMap relengd.yaml');
}

function composeConfig(): { config: Config; env: Record<string, string> } {
  const relengd = composeProject(composeEnv).services.relengd!;
  const mount = serviceVolumes(relengd).find((v) => v.target === imageConfigPath)!;
  const env = relengd.environment ?? {};
  return { config: parseConfig(readFileSync(mount.source, 'utf8'), env, mount.source), env };
}

describe('deploy/ YAML', () => {
  it('every YAML file parses, every document of it', () => {
    const files = yamlFiles();
    expect(files.map((f) => f.slice(projectRoot.length + 1))).toEqual(expect.arrayContaining(['deploy/compose/compose.yaml', 'deploy/kubernetes/statefulset.yaml', 'deploy/systemd/relengd.yaml']));
    for (const file of files) {
      const docs = yamlDocuments(file);
      expect(docs.length, file).toBeGreaterThan(0);
      for (const doc of docs) expect(doc, file).toBeTypeOf('object');
    }
  });

  it('every Kubernetes document is an object with apiVersion, kind and name, named once per kind', () => {
    const objects = kubernetesObjects();
    expect(objects.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'PersistentVolumeClaim', 'PersistentVolumeClaim', 'Secret', 'Secret', 'Service', 'ServiceMonitor', 'StatefulSet']);
    for (const o of objects) expect(o.apiVersion && o.kind && o.metadata.name, JSON.stringify(o).slice(0, 80)).toBeTruthy();
    expect(new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`)).size).toBe(objects.length);
  });
});

describe('the container image', () => {
  it('runs `relengd start --config /etc/relengd/relengd.yaml` under an init, as a non-root user', () => {
    const command = imageCommand(image);
    expect(command.slice(-4)).toEqual(['/usr/local/bin/relengd', 'start', '--config', '/etc/relengd/relengd.yaml']);
    expect(stage.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' '), 'other verbs run in the container read the same config').toContain(`RELENGD_CONFIG=${imageConfigPath}`);
    const user = lastInstruction(stage, 'USER')!.args;
    expect(user, 'numeric, so that runAsNonRoot can check it').toMatch(/^[1-9]\d*$/);
  });

  it('its relengd wrapper runs the CLI the image copies from this repository, with the Node 24 it installs', () => {
    const wrapper = stage.find((i) => i.keyword === 'RUN' && i.args.includes('> /usr/local/bin/relengd'))!;
    const [, node, script] = /exec (\S+) (\S+) "\$@"/.exec(wrapper.args)!;
    expect(relocatePath(script!, copiedFromRepository(image))).toBe(cliPath);
    expect(node).toBe('/usr/bin/node-24');
    const installs = stage.filter((i) => i.keyword === 'RUN' && i.args.includes('dnf')).map((i) => i.args.split(/\s+/));
    expect(installs.flat()).toEqual(expect.arrayContaining(['nodejs24', 'ostree', 'rpm-ostree', 'lorax', 'koji', 'gnupg2', 'catatonit', 'curl']));
    expect(imageCommand(image)[0]).toBe('/usr/libexec/catatonit/catatonit');
  });

  it('keeps the store and the job directories of the configs it runs on volumes', () => {
    const volumes = execForm(lastInstruction(stage, 'VOLUME'));
    for (const [form, config] of [['kubernetes', kubernetesConfig()], ['compose', composeConfig().config]] as const) {
      for (const dir of [dirname(config.store.path), config.jobs.workdir]) {
        expect(volumes.some((v) => isUnder(dir, v)), `${form}: ${dir} is on no VOLUME (${volumes.join(', ')})`).toBe(true);
      }
    }
  });

  it('checks its health on /healthz at the port it exposes, which the compose config serves', () => {
    const healthcheck = lastInstruction(stage, 'HEALTHCHECK')!.args;
    const url = new URL(/(https?:\/\/\S+)/.exec(healthcheck)![1]!);
    const { config } = composeConfig();
    expect(url.pathname).toBe('/healthz');
    expect(Number(url.port)).toBe(config.http.port);
    expect(lastInstruction(stage, 'EXPOSE')!.args.split(/\s+/)).toContain(String(config.http.port));
  });
});

describe('Kubernetes', () => {
  const workload = relengdWorkload();
  const container = relengdContainer(workload);
  const podSpec = workload.spec.template.spec;

  it('runs one relengd (a StatefulSet) with the image entrypoint and the config from the ConfigMap', () => {
    expect(workload.kind).toBe('StatefulSet');
    expect(workload.spec.replicas).toBe(1);
    expect(container.command, 'keeps the image entrypoint (its init)').toBeUndefined();
    expect(container.args).toEqual(execForm(lastInstruction(stage, 'CMD')));
    expect(() => kubernetesConfig()).not.toThrow();
  });

  it('probes and serves the port and scheme the config listens on', () => {
    const config = kubernetesConfig();
    const scheme = config.http.tls ? 'HTTPS' : 'HTTP';
    expect(config.http.host, 'reachable by the kubelet and the Service').toBe('0.0.0.0');
    for (const [name, probe] of Object.entries({ startup: container.startupProbe, liveness: container.livenessProbe, readiness: container.readinessProbe })) {
      expect(probe, name).toBeDefined();
      expect(containerPortNumber(container, probe!.httpGet.port), name).toBe(config.http.port);
      expect(probe!.httpGet.scheme ?? 'HTTP', name).toBe(scheme);
    }
    expect(container.livenessProbe!.httpGet.path).toBe('/healthz');
    expect(container.startupProbe!.httpGet.path).toBe('/healthz');
    expect(container.readinessProbe!.httpGet.path).toBe('/readyz');

    const service = kubernetesObject<K8sObject & { spec: { selector: Record<string, string>; ports: Array<{ name: string; targetPort: string | number }> } }>('Service');
    expect(selects(service.spec.selector, workload.spec.template.metadata.labels)).toBe(true);
    expect(workload.spec.serviceName).toBe(service.metadata.name);
    for (const port of service.spec.ports) expect(containerPortNumber(container, port.targetPort)).toBe(config.http.port);

    const monitor = kubernetesObject<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string; scheme: string }> } }>('ServiceMonitor');
    expect(selects(monitor.spec.selector.matchLabels, service.metadata.labels)).toBe(true);
    for (const endpoint of monitor.spec.endpoints) {
      expect(service.spec.ports.map((p) => p.name)).toContain(endpoint.port);
      expect(endpoint.path).toBe('/metrics');
      expect(endpoint.scheme.toUpperCase()).toBe(scheme);
    }
  });

  it('mounts every path the config names: writable state on persistent volumes, files read from Secrets where the config reads them', () => {
    const config = kubernetesConfig();
    const all = mounts(workload);
    for (const { key, path, writes } of pathsRelengdOpens(config)) {
      const mount = all.filter((m) => isUnder(path, m.mountPath)).sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
      expect(mount, `${key} ${path} is on no volume`).toBeDefined();
      if (writes) {
        expect(mount!.readOnly, `${key} ${path}`).toBe(false);
        expect('claimTemplate' in mount!.volume || ('persistentVolumeClaim' in mount!.volume && mount!.volume.persistentVolumeClaim !== undefined), `${key} ${path} must outlive the pod`).toBe(true);
      }
      if ('secret' in mount!.volume && mount!.volume.secret) {
        const secret = mount!.volume.secret;
        const item = secret.items?.find((i) => join(mount!.mountPath, i.path) === path);
        expect(item, `${key} ${path}: no item of Secret ${secret.secretName} is mounted there`).toBeDefined();
        const shipped = kubernetesObjects().find((o) => o.kind === 'Secret' && o.metadata.name === secret.secretName) as (K8sObject & { stringData?: Record<string, string> }) | undefined;
        // A Secret not shipped is the HTTPS certificate that OpenShift's service CA (or cert-manager) writes: kubernetes.io/tls keys.
        const keys = shipped ? Object.keys(shipped.stringData ?? {}) : ['tls.crt', 'tls.key'];
        expect(keys, `Secret ${secret.secretName}`).toContain(item!.key);
      }
    }
    // The config file itself comes from the ConfigMap, read-only.
    expect(all.find((m) => m.mountPath === imageConfigPath)?.readOnly).toBe(true);
  });

  it('needs no fixed UID or privileges (OpenShift restricted)', () => {
    expect(podSpec.securityContext?.runAsNonRoot).toBe(true);
    expect(podSpec.securityContext?.runAsUser).toBeUndefined();
    expect(container.securityContext?.runAsUser).toBeUndefined();
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(podSpec.enableServiceLinks, 'no RELENGD_* service variables next to relengd\'s own').toBe(false);
  });

  it('ships placeholder Secrets that relengd refuses to start with', () => {
    const tokens = kubernetesObject<K8sObject & { stringData: Record<string, string> }>('Secret', 'relengd-tokens');
    const config = kubernetesConfig();
    for (const source of config.http.auth.tokens) {
      const key = source.file!.split('/').at(-1)!;
      expect(Object.keys(tokens.stringData)).toContain(key);
      expect(() => BearerTokens.load([{ name: source.name, env: 'PLACEHOLDER' }], { PLACEHOLDER: tokens.stringData[key] })).toThrow(ConfigError);
    }
  });
});

describe('compose', () => {
  it('needs the operator token from the environment, never a default', () => {
    expect(() => composeProject({})).toThrow(/RELENGD_RELENG_TOKEN/);
  });

  it('builds relengd from this repository with deploy/container/Containerfile', () => {
    const build = composeProject(composeEnv).services.relengd!.build!;
    expect(resolve(composeDir, build.context)).toBe(projectRoot);
    expect(resolve(composeDir, build.context, build.dockerfile)).toBe(join(projectRoot, 'deploy', 'container', 'Containerfile'));
  });

  it('points relengd at the rabbitmq service, as the user the broker is started with', () => {
    const project = composeProject(composeEnv);
    const { config, env } = composeConfig();
    expect(config.bus.transport).toBe('amqp');
    const url = new URL(env.AMQP_URL!);
    expect(project.services[url.hostname], `AMQP_URL names ${url.hostname}, not a service`).toBeDefined();
    expect(config.bus.amqp.url).toBe(env.AMQP_URL);
    const broker = project.services[url.hostname]!.environment!;
    expect([url.username, url.password]).toEqual([broker.RABBITMQ_DEFAULT_USER, broker.RABBITMQ_DEFAULT_PASS]);
    expect(url.port || '5672').toBe('5672');
    expect(project.services.relengd!.depends_on?.[url.hostname]?.condition).toBe('service_healthy');
  });

  it('publishes the port the config serves on the host\'s loopback only, and checks /healthz there', () => {
    const relengd = composeProject(composeEnv).services.relengd!;
    const { config } = composeConfig();
    expect(servicePorts(relengd)).toEqual([{ ip: '127.0.0.1', published: expect.any(Number), target: config.http.port }]);
    const url = new URL(relengd.healthcheck!.test.find((a) => /^https?:/.test(a))!);
    expect([url.pathname, Number(url.port)]).toEqual(['/healthz', config.http.port]);
  });

  it('mounts the config where the image reads it, state on named volumes, and the files the trial\'s composes read', () => {
    const project = composeProject(composeEnv);
    const volumes = serviceVolumes(project.services.relengd!);
    const { config } = composeConfig();
    expect(volumes.find((v) => v.target === imageConfigPath)).toMatchObject({ named: false, readOnly: true });
    for (const { key, path, writes } of pathsRelengdOpens(config)) {
      const volume = volumes.filter((v) => isUnder(path, v.target)).sort((a, b) => b.target.length - a.target.length)[0];
      expect(volume, `${key} ${path} is on no volume`).toBeDefined();
      if (writes) expect(volume!.named && Object.hasOwn(project.volumes ?? {}, volume!.source), `${key} ${path} on a declared named volume`).toBe(true);
    }
    // The compose command runs in the image: its program and script are what the image holds, its treefile a bind mount.
    const inImage = copiedFromRepository(image);
    const local = new Map(volumes.filter((v) => !v.named).map((v) => [v.target, v.source]));
    for (const stream of config.streams) {
      for (const arg of stream.ostree.compose.filter((a) => a.startsWith('/'))) {
        if (arg === '/usr/bin/node-24') continue; // nodejs24's binary, as the image's relengd wrapper runs it (checked above)
        const there = relocatePath(arg, inImage) ?? relocatePath(arg, local);
        expect(there && existsSync(there), `${arg} is neither copied into the image nor mounted`).toBe(true);
      }
      const treefile = relocatePath(stream.ostree.treefile, local);
      expect(treefile && existsSync(treefile), `${stream.ostree.treefile} is not mounted`).toBe(true);
      expect((JSON.parse(readFileSync(treefile!, 'utf8')) as { ref: string }).ref, 'the stand-in commits on the treefile\'s ref').toBe(stream.ostree.ref);
    }
  });
});
