import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/cli/daemon.ts';
import { fetchChain, publishOverHttp } from '../../src/bus/embedded/client.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { fixturesMissingReason, fixturesPresent, loadFixture } from '../helpers/fixtures.ts';
import { tempDir } from '../helpers/tmp.ts';
import { syncStore } from '../helpers/sync-store.ts';

let daemon: Daemon | undefined;
afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
});

async function start(extra = ''): Promise<Daemon> {
  daemon = await startDaemon({ config: testConfig(tempDir(), extra), logger: silentLogger() });
  return daemon;
}

function emitted(d: Daemon, topic: string) {
  return syncStore(d.store).events.query({ topic }).filter((e) => e.origin === 'emitted');
}

const mashed = { topic: 'org.fedoraproject.prod.bodhi.compose.complete', body: { repo: 'f26-updates', success: true, ctype: 'rpm', agent: 'bodhi' } };

describe('CloudEvents ingest over HTTP, on a real SQLite store', () => {
  it('stores a message published twice once and derives its compose requests once', async () => {
    const d = await start();
    const first = await publishOverHttp(d.http!.url, { ...mashed, id: 'msg-1' });
    const second = await publishOverHttp(d.http!.url, { ...mashed, id: 'msg-1' });
    await d.dispatcher.drain();
    expect(first).toMatchObject({ status: 202, body: { status: 'accepted', id: 'msg-1' } });
    expect(second).toMatchObject({ status: 200, body: { status: 'duplicate', id: 'msg-1' } });
    expect(await d.store.events.query({ topic: 'bodhi.compose.complete' })).toHaveLength(1);
    const requests = emitted(d, 'relengd.ostree.compose.requested');
    expect(requests.map((e) => e.envelope.subject).sort()).toEqual(['fedora/26/aarch64/updates/atomic-host', 'fedora/26/x86_64/updates/atomic-host']);
    expect(requests.every((e) => e.envelope.causationid === 'msg-1' && e.envelope.correlationid === 'msg-1')).toBe(true);
    expect(await d.store.outbox.countPending()).toBe(0); // the embedded transport confirmed them
    // The body's bytes are kept exactly as sent (once, as the data).
    expect(Buffer.from((await d.store.events.raw('msg-1'))!).toString('utf8')).toBe(JSON.stringify(mashed.body));
  });

  it('GET /events?correlation=ID answers the chain a message started, oldest first; a bad query is 400', async () => {
    const d = await start();
    await publishOverHttp(d.http!.url, { ...mashed, id: 'msg-chain' });
    await d.dispatcher.drain();
    const chain = await fetchChain(d.http!.url, 'msg-chain');
    expect((chain as Array<{ id: string; topic: string }>).map((e) => e.topic)).toEqual(['bodhi.compose.complete', 'relengd.ostree.compose.requested', 'relengd.ostree.compose.requested']);
    expect(await fetchChain(d.http!.url, 'no-such-message')).toEqual([]);
    const bad = await fetch(`${d.http!.url}/events?correlation=${encodeURIComponent('two words')}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('one word of visible ASCII');
    expect((await fetch(`${d.http!.url}/events?topic=x`)).status).toBe(400);
  });

  it.skipIf(!fixturesPresent)(`stores a real Fedora fixture published twice once (${fixturesPresent ? 'fixtures present' : fixturesMissingReason})`, async () => {
    const d = await start();
    const fixture = loadFixture('bodhi.compose.complete.4.json');
    const replies = [await publishOverHttp(d.http!.url, fixture), await publishOverHttp(d.http!.url, fixture)];
    await d.dispatcher.drain();
    expect(replies.map((r) => r.body.status)).toEqual(['accepted', 'duplicate']);
    expect(await d.store.events.count()).toBe(1); // f17-updates-testing feeds no stream: nothing derived
  });

  it('rejects an invalid message with a 4xx naming the field, keeps its bytes and reason, and keeps consuming', async () => {
    const d = await start();
    const bad = await publishOverHttp(d.http!.url, { topic: mashed.topic, id: 'bad-1', body: { repo: 'f26-updates', success: 'yes' } });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ status: 'rejected', reason: 'schema', field: 'success' });
    expect(String(bad.body.error)).toContain('success');

    const [rejection] = await d.store.rejected.list();
    expect(rejection).toMatchObject({ reason: 'schema', field: 'success', messageId: 'bad-1', transport: 'http' });
    expect(JSON.parse(Buffer.from(rejection!.raw).toString('utf8'))).toEqual({ repo: 'f26-updates', success: 'yes' });

    const good = await publishOverHttp(d.http!.url, { ...mashed, id: 'good-1' });
    await d.dispatcher.drain();
    expect(good.status).toBe(202);
    expect(emitted(d, 'relengd.ostree.compose.requested')).toHaveLength(2);
  });

  it('rejects a body that is not JSON and a request that is not a CloudEvent, with 400', async () => {
    const d = await start();
    const notJson = await fetch(`${d.http!.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ce-id': 'x1', 'ce-source': '/t', 'ce-type': mashed.topic, 'ce-specversion': '1.0' },
      body: '{"repo": ',
    });
    const notCe = await fetch(`${d.http!.url}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"repo":"x"}' });
    expect([notJson.status, notCe.status]).toEqual([400, 400]);
    expect(((await notJson.json()) as { reason: string }).reason).toBe('not-json');
    expect((await d.store.rejected.list()).map((r) => r.reason).sort()).toEqual(['not-cloudevent', 'not-json']);
  });

  it('accepts structured-mode CloudEvents', async () => {
    const d = await start();
    const response = await fetch(`${d.http!.url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 's-1', source: '/bodhi', type: mashed.topic, datacontenttype: 'application/json', data: mashed.body }),
    });
    expect(response.status).toBe(202);
    expect((await d.store.events.get('s-1'))?.envelope).toMatchObject({ topic: 'bodhi.compose.complete', prefix: 'org.fedoraproject.prod' });
  });

  it('refuses a body over the size limit with 413 without buffering it', async () => {
    const d = await start('');
    const huge = { ...mashed, id: 'huge', body: { ...mashed.body, padding: 'x'.repeat(2 * 1024 * 1024) } };
    const reply = await publishOverHttp(d.http!.url, huge);
    expect(reply.status).toBe(413);
    expect(await d.store.events.count()).toBe(0);
  });

  it('refuses a gating message over HTTP when the topic has a publisher allowlist (HTTP has no authenticated user)', async () => {
    const d = await start('publishers: { relengd.release.approve: [releng] }');
    const reply = await publishOverHttp(d.http!.url, { topic: 'org.fedoraproject.prod.relengd.release.approve', id: 'a-1', body: { group: 'f26-atomic-host', version: '26.1' } });
    expect(reply).toMatchObject({ status: 403, body: { reason: 'unauthorized' } });
    expect(await d.store.events.has('a-1')).toBe(false);
  });

  it('answers /healthz and /readyz', async () => {
    const d = await start();
    const health = await fetch(`${d.http!.url}/healthz`);
    const ready = await fetch(`${d.http!.url}/readyz`);
    expect([health.status, ready.status]).toEqual([200, 200]);
    expect(await ready.json()).toMatchObject({ ready: true, transport: 'embedded' });
  });

  it('exposes Prometheus metrics read from the store', async () => {
    const d = await start();
    await publishOverHttp(d.http!.url, { ...mashed, id: 'm-1' });
    await publishOverHttp(d.http!.url, { topic: mashed.topic, id: 'bad', body: { repo: 1 } });
    await d.dispatcher.drain();
    const text = await (await fetch(`${d.http!.url}/metrics`)).text();
    expect(text).toContain('relengd_events{origin="inbound",state="done"} 1');
    expect(text).toContain('relengd_events{origin="emitted",state="done"} 2');
    expect(text).toContain('relengd_rejected_messages 1');
    expect(text).toContain('relengd_transport_ready{transport="embedded"} 1');
  });
});
