/** Operator routes (the daemon's `POST /replay`) in the trust model: who may use one, and that none is a message. */
import { describe, expect, it } from 'vitest';
import { authorize, authorizeOperatorRoute, OPERATOR_ROUTES, topicKind } from '../../src/trust.ts';

const REPLAY = 'relengd.replay.requested';

describe('operator routes', () => {
  it.each([
    // [rules, identity, allowed]
    [{ [REPLAY]: ['releng'] }, 'releng', true],
    [{ [REPLAY]: ['releng'] }, 'ci', false],
    [{ [REPLAY]: ['releng'] }, undefined, false],
    [{}, 'releng', false],
    [{}, undefined, false],
    [{ 'relengd.release.approve': ['releng'] }, 'releng', false],
  ] as const)('with rules %j, %s is allowed: %s', (rules, identity, expected) => {
    expect(authorizeOperatorRoute(REPLAY, identity, rules).allowed).toBe(expected);
  });

  it('names the rule and the sender when it refuses', () => {
    expect(authorizeOperatorRoute(REPLAY, 'ci', { [REPLAY]: ['releng'] })).toEqual({ allowed: false, drop: false, why: `${REPLAY} is allowed only to releng; sender was ci` });
    expect(authorizeOperatorRoute(REPLAY, undefined, {})).toMatchObject({ allowed: false, why: expect.stringContaining(`allow one with publishers.${REPLAY}`) });
  });

  it('refuses a verb that is not an operator route, whatever the rules say', () => {
    expect(authorizeOperatorRoute('relengd.release.approve', 'releng', { 'relengd.release.approve': ['releng'] }).allowed).toBe(false);
  });

  it('never takes an operator route as a message: from any transport its name is dropped as relengd\'s own', () => {
    for (const verb of OPERATOR_ROUTES) {
      expect(topicKind(verb)).toBe('own');
      for (const source of ['live', 'replayed', 'archive', 'operator'] as const) {
        expect(authorize(verb, { identity: 'releng', source }, { [verb]: ['releng'] })).toMatchObject({ allowed: false, drop: true });
      }
    }
  });
});
