/**
 * The relengd pod as deploy/kubernetes describes it: the workload's container, its mounts resolved
 * to their volumes, its named ports, and the configuration from the ConfigMap it mounts.
 */
import { kubernetesObject, kubernetesObjects, type K8sObject } from './deploy-files.ts';

export interface Probe {
  httpGet: { path: string; port: string | number; scheme?: string };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: Array<{ name: string; value?: string }>;
  ports: Array<{ name?: string; containerPort: number }>;
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: Record<string, unknown>;
  volumeMounts: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
}

export interface Volume {
  name: string;
  configMap?: { name: string; items?: Array<{ key: string; path: string }> };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  emptyDir?: Record<string, unknown>;
}

export interface PodSpec {
  securityContext?: Record<string, unknown>;
  terminationGracePeriodSeconds?: number;
  enableServiceLinks?: boolean;
  containers: Container[];
  volumes: Volume[];
}

export type Workload = K8sObject & {
  spec: {
    replicas: number;
    serviceName?: string;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    volumeClaimTemplates?: Array<{ metadata: { name: string }; spec: { accessModes: string[] } }>;
  };
};

/** The one workload running relengd (a StatefulSet or a Deployment). */
export function relengdWorkload(): Workload {
  const workloads = kubernetesObjects().filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');
  if (workloads.length !== 1) throw new Error(`expected one StatefulSet or Deployment in deploy/kubernetes, found ${workloads.length}`);
  return workloads[0] as Workload;
}

export function relengdContainer(workload = relengdWorkload()): Container {
  const containers = workload.spec.template.spec.containers;
  if (containers.length !== 1) throw new Error(`expected one container, found ${containers.length}`);
  return containers[0]!;
}

/** A named container port (or a number) as a number. */
export function containerPortNumber(container: Container, port: string | number): number {
  if (typeof port === 'number') return port;
  const found = container.ports.find((p) => p.name === port);
  if (!found) throw new Error(`container ${container.name} has no port named ${port}`);
  return found.containerPort;
}

export interface Mount {
  mountPath: string;
  readOnly: boolean;
  volume: Volume | { name: string; claimTemplate: true };
  subPath?: string | undefined;
}

/** Each mount of the container with the volume it names (a pod volume or a volumeClaimTemplate). */
export function mounts(workload = relengdWorkload()): Mount[] {
  const container = relengdContainer(workload);
  return container.volumeMounts.map((m) => {
    const volume = workload.spec.template.spec.volumes.find((v) => v.name === m.name);
    const template = workload.spec.volumeClaimTemplates?.find((t) => t.metadata.name === m.name);
    if (!volume && !template) throw new Error(`volumeMount ${m.name} names no volume`);
    return { mountPath: m.mountPath, readOnly: m.readOnly === true, volume: volume ?? { name: m.name, claimTemplate: true }, subPath: m.subPath };
  });
}

/** The config file's path in the container and its text, from the ConfigMap mounted there. */
export function mountedConfig(configPath: string, workload = relengdWorkload()): { text: string; configMap: string; key: string } {
  const mount = mounts(workload).find((m) => m.mountPath === configPath);
  if (!mount || !('configMap' in mount.volume) || !mount.volume.configMap) throw new Error(`no ConfigMap is mounted at ${configPath}`);
  const key = mount.subPath ?? configPath.split('/').at(-1)!;
  const configMap = kubernetesObject<K8sObject & { data: Record<string, string> }>('ConfigMap', mount.volume.configMap.name);
  const text = configMap.data[key];
  if (text === undefined) throw new Error(`ConfigMap ${configMap.metadata.name} has no key ${key}`);
  return { text, configMap: configMap.metadata.name, key };
}

/** Whether a selector's labels are all among `labels`. */
export function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}
