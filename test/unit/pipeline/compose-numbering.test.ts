import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { makeEnvelope } from '../../../src/events/envelope.ts';
import type { Decision, Listener, ListenerContext } from '../../../src/pipeline/listener.ts';
import { composer } from '../../../src/pipeline/listeners/composer.ts';
import { updatesMashed } from '../../../src/pipeline/listeners/updates-mashed.ts';
import { parseConfig } from '../../../src/config/index.ts';
import { testConfigYaml } from '../../helpers/config.ts';

const ARCHES = ['x86_64', 'aarch64'] as const;
type Arch = (typeof ARCHES)[number];
const streamOf = (arch: Arch) => `f26-atomic-host-${arch}`;
const refOf = (arch: Arch) => `fedora/26/${arch}/updates/atomic-host`;

/**
 * Bodhi pushes and compose results through updates-mashed and the composer on one state, the way
 * the dispatcher runs them: what versions and compose ids the group's composes get.
 */
function pipeline(yaml = testConfigYaml('/srv/relengd')) {
  const config = parseConfig(yaml, {});
  const state = new Map<string, unknown>();
  const context: ListenerContext = {
    config,
    state: { get: (ns, key) => state.get(`${ns}\0${key}`), list: () => [] },
  };
  let n = 0;
  const run = (listener: Listener, topic: string, data: unknown): Decision => {
    const event = makeEnvelope({ topic, data, id: `event-${++n}`, time: '2026-11-26T10:00:00Z' }, { receivedAt: '2026-11-26T10:00:00Z' });
    const decision = listener.handle(event, context);
    for (const p of decision.patches) {
      if (p.value === null) state.delete(`${p.namespace}\0${p.key}`);
      else state.set(`${p.namespace}\0${p.key}`, p.value);
    }
    return decision;
  };
  /** The composes a push starts (arch → version and compose id), requests held as follow-ups included. */
  const push = () => {
    const requests = run(updatesMashed, 'bodhi.compose.complete', { repo: 'f26-updates', success: true }).emit;
    const started: Partial<Record<Arch, { version: string; composeId: string }>> = {};
    for (const request of requests) {
      const data = request.data as { stream: string; version: string; composeId: string };
      run(composer, request.topic, data);
      started[ARCHES.find((a) => streamOf(a) === data.stream)!] = { version: data.version, composeId: data.composeId };
    }
    return started;
  };
  const end = (arch: Arch, compose: { version: string; composeId: string }, outcome: 'changed' | 'unchanged' | 'failed') => {
    const base = { composeId: compose.composeId, stream: streamOf(arch), ref: refOf(arch), version: compose.version };
    if (outcome === 'failed') return run(composer, 'relengd.ostree.compose.failed', { ...base, error: 'rpm-ostree exited with 1', log: null });
    return run(composer, 'relengd.ostree.compose.finished', { ...base, commit: outcome === 'changed' ? `${n}`.padStart(64, 'a') : null, parent: null, duration: 1 });
  };
  return { push, end };
}

describe('compose ids and version numbers', () => {
  it("names each compose of the group in Pungi's style, one id for all its arches, a new one per compose", () => {
    const p = pipeline();
    const first = p.push();
    expect(first).toEqual({ x86_64: { version: '26.20261126.0', composeId: 'f26-atomic-host-20261126.0' }, aarch64: { version: '26.20261126.0', composeId: 'f26-atomic-host-20261126.0' } });
    for (const arch of ARCHES) p.end(arch, first[arch]!, 'changed');
    expect(p.push().x86_64).toEqual({ version: '26.20261126.1', composeId: 'f26-atomic-host-20261126.1' });
  });

  it('takes the compose id from ostree.composeId', () => {
    const yaml = testConfigYaml('/srv/relengd').replaceAll('      compose: [', '      composeId: "Fedora-AtomicHost-{release}-{date}.{n}"\n      compose: [');
    expect(pipeline(yaml).push().aarch64?.composeId).toBe('Fedora-AtomicHost-26-20261126.0');
  });

  it('gives the version back when every arch composed nothing new, but never the compose id', () => {
    const p = pipeline();
    const first = p.push();
    for (const arch of ARCHES) p.end(arch, first[arch]!, 'unchanged');
    const second = p.push();
    expect(second.x86_64).toEqual({ version: '26.20261126.0', composeId: 'f26-atomic-host-20261126.1' });
    for (const arch of ARCHES) p.end(arch, second[arch]!, 'changed');
    expect(p.push().x86_64).toEqual({ version: '26.20261126.1', composeId: 'f26-atomic-host-20261126.2' });
  });

  it('keeps the version when one arch made a commit with it', () => {
    const p = pipeline();
    const first = p.push();
    p.end('x86_64', first.x86_64!, 'unchanged');
    p.end('aarch64', first.aarch64!, 'changed');
    expect(p.push().x86_64?.version).toBe('26.20261126.1');
  });

  it('keeps the version of a failed compose: a retry may still commit it', () => {
    const p = pipeline();
    const first = p.push();
    p.end('x86_64', first.x86_64!, 'unchanged');
    p.end('aarch64', first.aarch64!, 'failed');
    expect(p.push().x86_64?.version).toBe('26.20261126.1');
  });

  it('keeps a version while an arch still composes it', () => {
    const p = pipeline();
    const first = p.push();
    p.end('x86_64', first.x86_64!, 'unchanged');
    const second = p.push(); // aarch64 still composes .0: its request waits as the follow-up
    expect(second.x86_64?.version).toBe('26.20261126.1');
  });

  it('keeps a version once a later one was handed out: versions only grow', () => {
    const p = pipeline();
    const first = p.push();
    const second = p.push(); // both arches busy: .1 waits as the follow-up
    for (const arch of ARCHES) p.end(arch, first[arch]!, 'unchanged');
    expect(second.x86_64?.version).toBe('26.20261126.1');
    for (const arch of ARCHES) p.end(arch, second[arch]!, 'changed');
    expect(p.push().x86_64?.version).toBe('26.20261126.2');
  });
});

describe('ostree.composeId in the config', () => {
  const withComposeId = (template: string) => testConfigYaml('/srv/relengd').replaceAll('      compose: [', `      composeId: "${template}"\n      compose: [`);

  it('must name one compose: {date} and {n} are required', () => {
    expect(() => parseConfig(withComposeId('Fedora-AtomicHost-{release}'), {})).toThrow(/must contain \{date\} and \{n\}/);
  });

  it('refuses characters that could reach a command line unquoted', () => {
    expect(() => parseConfig(withComposeId('Fedora AtomicHost-{date}.{n}'), {})).toThrow(ConfigError);
  });

  it('must differ between groups: gating names a compose by its id', () => {
    const yaml = testConfigYaml('/srv/relengd');
    const second = yaml.slice(yaml.indexOf('streams:') + 'streams:'.length).replaceAll('f26-atomic-host', 'f26-other').replaceAll('/atomic-host', '/other');
    const both = (yaml + second).replaceAll('      compose: [', '      composeId: "Fedora-{date}.{n}"\n      compose: [');
    expect(() => parseConfig(both, {})).toThrow(/gives the same compose ids as group "f26-atomic-host"/);
  });
});
