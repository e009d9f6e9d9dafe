import { describe, expect, it } from 'vitest';
import { composeCommand } from '../../../src/pipeline/listeners/compose-command.ts';
import { ComposeRequest } from '../../../src/events/relengd/compose-command.ts';
import { testConfig } from '../../helpers/config.ts';
import { listenerHarness } from '../../helpers/listener-harness.ts';

type Requested = { stream: string; version: string; causes: Array<{ id: string; topic: string }> };

describe('compose-command (relengd compose)', () => {
  it('a group: one compose request per arch, sharing one version, caused by the command', () => {
    const harness = listenerHarness(composeCommand, testConfig('/srv/relengd'));
    const { emit } = harness.send('relengd.compose.request', { group: 'f26-atomic-host' }, { id: 'cmd-1', publisher: 'local:releng' });
    const requests = emit.map((e) => ({ topic: e.topic, ...(e.data as Requested) }));
    expect(requests.map((r) => [r.topic, r.stream])).toEqual([
      ['relengd.ostree.compose.requested', 'f26-atomic-host-x86_64'],
      ['relengd.ostree.compose.requested', 'f26-atomic-host-aarch64'],
    ]);
    expect(new Set(requests.map((r) => r.version)).size).toBe(1);
    expect(requests[0]!.causes).toEqual([{ id: 'cmd-1', topic: 'relengd.compose.request' }]);
  });

  it('a stream: that stream only; a second command the same day gets the next version', () => {
    const harness = listenerHarness(composeCommand, testConfig('/srv/relengd'));
    const first = harness.send('relengd.compose.request', { stream: 'f26-atomic-host-aarch64' }, { id: 'cmd-1' });
    const second = harness.send('relengd.compose.request', { stream: 'f26-atomic-host-aarch64' }, { id: 'cmd-2' });
    expect(first.emit.map((e) => (e.data as Requested).stream)).toEqual(['f26-atomic-host-aarch64']);
    expect((first.emit[0]!.data as Requested).version).toBe('26.20261126.0');
    expect((second.emit[0]!.data as Requested).version).toBe('26.20261126.1');
  });

  it('a stream or group no longer configured: nothing', () => {
    const harness = listenerHarness(composeCommand, testConfig('/srv/relengd'));
    expect(harness.send('relengd.compose.request', { stream: 'gone' }).emit).toEqual([]);
    expect(harness.send('relengd.compose.request', { group: 'gone' }).emit).toEqual([]);
  });

  it('the body names exactly one of stream and group', () => {
    expect(ComposeRequest.safeParse({ stream: 'a', group: 'b' }).success).toBe(false);
    expect(ComposeRequest.safeParse({}).success).toBe(false);
    expect(ComposeRequest.safeParse({ stream: 'a; rm -rf /' }).success).toBe(false);
    expect(ComposeRequest.safeParse({ group: 'f26-atomic-host', comment: 'rebuild after the glibc fix' }).success).toBe(true);
  });
});
