/** The trust model as a table: who may send which kind of topic, by how it came. */
import { describe, expect, it } from 'vitest';
import { authorize, bindFromOutside, isSafeValue, mayCarryDerivedId, topicKind, type DeliverySource } from '../../src/trust.ts';

const publishers = {
  'greenwave.decision.update': ['greenwave'],
  'relengd.release.approve': ['releng'],
  'buildsys.tag': ['koji'],
};

const allowed = (topic: string, identity: string | undefined, source: DeliverySource = 'live') => authorize(topic, { identity, source }, publishers).allowed;

describe('topic kinds', () => {
  it.each([
    ['bodhi.compose.complete', 'external'],
    ['greenwave.decision.update', 'gating'],
    ['resultsdb.result.new', 'gating'],
    ['relengd.release.approve', 'command'],
    ['relengd.release.promote.requested', 'command'],
    ['relengd.release.rollback.requested', 'command'],
    ['relengd.compose.finished', 'own'],
    ['relengd.release.rolled-back', 'own'],
    ['relengd.release.rollback.refused', 'own'],
    ['relengd.ostree.compose.requested', 'own'],
    ['relengd.some.future.fact', 'own'],
  ])('%s is %s', (topic, kind) => expect(topicKind(topic)).toBe(kind));
});

describe('commands', () => {
  it('are refused by default, even from an authenticated sender', () => {
    expect(allowed('relengd.release.promote.requested', 'releng')).toBe(false);
    expect(allowed('relengd.release.rollback.requested', 'releng')).toBe(false);
    expect(allowed('relengd.release.rollback.requested', undefined)).toBe(false);
  });
  it('are taken only from an allowed identity', () => {
    expect(allowed('relengd.release.approve', 'releng')).toBe(true);
    expect(allowed('relengd.release.approve', 'guest')).toBe(false);
    expect(allowed('relengd.release.approve', undefined)).toBe(false);
  });
  it('are never taken from recorded history or an archive, whoever sent them', () => {
    expect(allowed('relengd.release.approve', 'releng', 'replayed')).toBe(false);
    expect(allowed('relengd.release.approve', 'releng', 'archive')).toBe(false);
  });
  it('are taken from an operator on this machine', () => {
    expect(allowed('relengd.release.promote.requested', 'local:alice', 'operator')).toBe(true);
    expect(allowed('relengd.release.rollback.requested', 'local:alice', 'operator')).toBe(true);
  });
});

describe('gating facts', () => {
  it('count only from their configured publishers', () => {
    expect(allowed('greenwave.decision.update', 'greenwave')).toBe(true);
    expect(allowed('greenwave.decision.update', 'guest')).toBe(false);
    expect(allowed('greenwave.decision.update', undefined)).toBe(false);
  });
  it('are refused when no publisher is configured for them', () => {
    expect(allowed('resultsdb.result.new', 'resultsdb')).toBe(false);
  });
  it('are taken from an archive the operator chose', () => {
    expect(allowed('resultsdb.result.new', undefined, 'archive')).toBe(true);
  });
});

describe('external facts', () => {
  it('are taken from anyone when no rule names their topic, and only from the rule otherwise', () => {
    expect(allowed('bodhi.compose.complete', undefined)).toBe(true);
    expect(allowed('buildsys.tag', 'koji')).toBe(true);
    expect(allowed('buildsys.tag', 'guest')).toBe(false);
  });
});

describe("relengd's own facts", () => {
  it.each<DeliverySource>(['live', 'replayed', 'archive', 'operator'])('are dropped when they come from outside (%s)', (source) => {
    const verdict = authorize('relengd.compose.finished', { identity: 'releng', source }, publishers);
    expect(verdict).toMatchObject({ allowed: false, drop: true });
  });
  it('are not bound on a shared bus; commands only when someone may send them', () => {
    expect(bindFromOutside('relengd.ostree.compose.finished', publishers)).toBe(false);
    expect(bindFromOutside('relengd.release.approve', publishers)).toBe(true);
    expect(bindFromOutside('relengd.release.promote.requested', publishers)).toBe(false);
    expect(bindFromOutside('bodhi.compose.complete', publishers)).toBe(true);
  });
});

describe("relengd's calendar (triggers.schedule)", () => {
  it.each<DeliverySource>(['live', 'replayed', 'archive', 'operator'])('firings from outside are dropped like every own fact (%s)', (source) => {
    expect(authorize('relengd.schedule.fired', { identity: 'releng', source }, publishers)).toMatchObject({ allowed: false, drop: true });
  });
  it('sends its firings and nothing else', () => {
    expect(allowed('relengd.schedule.fired', undefined, 'calendar')).toBe(true);
    expect(allowed('relengd.compose.finished', undefined, 'calendar')).toBe(false);
    expect(allowed('relengd.release.approve', undefined, 'calendar')).toBe(false);
    expect(allowed('bodhi.compose.complete', undefined, 'calendar')).toBe(false);
  });
  it('alone may carry an id relengd derives', () => {
    expect(mayCarryDerivedId('calendar')).toBe(true);
    expect((['live', 'replayed', 'archive', 'operator'] as const).map(mayCarryDerivedId)).toEqual([false, false, false, false]);
  });
});

describe('values that reach a command line', () => {
  it.each(['26.20170705.0', '1.2+git~3', 'f26-atomic-host', 'a'])('%s is safe', (v) => expect(isSafeValue(v)).toBe(true));
  it.each(['', '-rf', '--unified-core', '26.1\n--x', 'a b', '../x', 'a/b', 'x'.repeat(129), 'é'])('%j is not', (v) => expect(isSafeValue(v)).toBe(false));
});
