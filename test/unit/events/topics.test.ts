/**
 * Topic prefixes and AMQP-style topic patterns: the catalogue is keyed by bare names, bindings and
 * listener subscriptions use `*` / `#` patterns over full or bare routing keys.
 */
import { describe, expect, it } from 'vitest';
import { KNOWN_PREFIXES, splitTopic, topicMatches, withPrefix } from '../../../src/events/topics.ts';

describe('splitTopic', () => {
  it.each([
    ['org.fedoraproject.prod.bodhi.compose.complete', 'org.fedoraproject.prod', 'bodhi.compose.complete'],
    ['org.fedoraproject.stg.buildsys.tag', 'org.fedoraproject.stg', 'buildsys.tag'],
    ['org.fedoraproject.dev.pungi.compose.status.change', 'org.fedoraproject.dev', 'pungi.compose.status.change'],
    ['org.centos.prod.buildsys.tag', 'org.centos.prod', 'buildsys.tag'],
    ['org.centos.stage.buildsys.untag', 'org.centos.stage', 'buildsys.untag'],
  ])('strips the known prefix from %s', (topic, prefix, name) => {
    expect(splitTopic(topic)).toEqual({ prefix, name });
  });

  it('knows exactly the Fedora and CentOS environments', () => {
    expect([...KNOWN_PREFIXES].sort()).toEqual([
      'org.centos.prod',
      'org.centos.stage',
      'org.fedoraproject.dev',
      'org.fedoraproject.prod',
      'org.fedoraproject.stg',
    ]);
  });

  it('leaves an unprefixed topic whole, with an empty prefix', () => {
    expect(splitTopic('relengd.compose.finished')).toEqual({ prefix: '', name: 'relengd.compose.finished' });
  });

  it('strips a configured deployment prefix', () => {
    expect(splitTopic('com.example.releng.relengd.compose.finished', 'com.example.releng')).toEqual({
      prefix: 'com.example.releng',
      name: 'relengd.compose.finished',
    });
  });

  it('still strips known prefixes when a different prefix is configured', () => {
    expect(splitTopic('org.fedoraproject.prod.buildsys.tag', 'com.example.releng')).toEqual({
      prefix: 'org.fedoraproject.prod',
      name: 'buildsys.tag',
    });
  });

  it('prefers a configured prefix that is longer than the known prefix it starts with', () => {
    expect(splitTopic('org.fedoraproject.prod.relengd.compose.finished', 'org.fedoraproject.prod.relengd')).toEqual({
      prefix: 'org.fedoraproject.prod.relengd',
      name: 'compose.finished',
    });
  });

  it('prefers a longer known prefix over a shorter configured one', () => {
    expect(splitTopic('org.fedoraproject.prod.buildsys.tag', 'org.fedoraproject')).toEqual({
      prefix: 'org.fedoraproject.prod',
      name: 'buildsys.tag',
    });
  });

  it('does not match a prefix that ends in the middle of a word', () => {
    expect(splitTopic('org.fedoraproject.production.x', 'org.fedoraproject.prod')).toEqual({
      prefix: '',
      name: 'org.fedoraproject.production.x',
    });
  });

  it('does not match a known prefix that ends in the middle of a word', () => {
    expect(splitTopic('org.centos.stagename.buildsys.tag')).toEqual({ prefix: '', name: 'org.centos.stagename.buildsys.tag' });
  });

  it('does not treat a topic that is only a prefix as having a name', () => {
    expect(splitTopic('org.fedoraproject.prod')).toEqual({ prefix: '', name: 'org.fedoraproject.prod' });
  });

  it('ignores an empty configured prefix', () => {
    expect(splitTopic('relengd.compose.finished', '')).toEqual({ prefix: '', name: 'relengd.compose.finished' });
  });

  it('round-trips with withPrefix', () => {
    const { prefix, name } = splitTopic('org.centos.stage.buildsys.tag');
    expect(withPrefix(name, prefix)).toBe('org.centos.stage.buildsys.tag');
  });
});

describe('withPrefix', () => {
  it('joins prefix and name with a dot', () => {
    expect(withPrefix('relengd.compose.finished', 'org.fedoraproject.prod')).toBe('org.fedoraproject.prod.relengd.compose.finished');
  });

  it('returns the bare name for an empty prefix', () => {
    expect(withPrefix('relengd.compose.finished', '')).toBe('relengd.compose.finished');
  });
});

describe('topicMatches', () => {
  it.each([
    // exact words
    ['bodhi.compose.complete', 'bodhi.compose.complete', true],
    ['bodhi.compose.complete', 'bodhi.compose.completed', false],
    ['bodhi.compose.complete', 'bodhi.compose', false],
    ['bodhi.compose', 'bodhi.compose.complete', false],
    // `*` is exactly one word
    ['bodhi.*.complete', 'bodhi.compose.complete', true],
    ['bodhi.*', 'bodhi.compose', true],
    ['bodhi.*', 'bodhi', false],
    ['bodhi.*', 'bodhi.compose.complete', false],
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.c', false],
    ['a.*.c', 'a.b.b.c', false],
    ['*', 'bodhi', true],
    ['*', 'bodhi.compose', false],
    // `#` is zero or more words, anywhere
    ['#', 'bodhi', true],
    ['#', 'org.fedoraproject.prod.bodhi.compose.complete', true],
    ['bodhi.#', 'bodhi', true],
    ['bodhi.#', 'bodhi.compose', true],
    ['bodhi.#', 'bodhi.compose.complete', true],
    ['bodhi.#', 'buildsys.tag', false],
    ['bodhi.#', 'org.fedoraproject.prod.bodhi.compose.complete', false],
    ['#.relengd.compose.finished', 'relengd.compose.finished', true],
    ['#.relengd.compose.finished', 'org.fedoraproject.prod.relengd.compose.finished', true],
    ['#.relengd.compose.finished', 'relengd.compose.finished.extra', false],
    ['#.relengd.compose.finished', 'relengd.ostree.compose.finished', false],
    ['a.#.c', 'a.c', true],
    ['a.#.c', 'a.b.c', true],
    ['a.#.c', 'a.x.y.c', true],
    ['a.#.c', 'a.x.y', false],
    ['a.#.c', 'b.x.c', false],
    ['#.compose.#', 'org.fedoraproject.prod.bodhi.compose.complete', true],
    ['#.compose.#', 'compose', true],
    ['#.compose.#', 'bodhi.composer.complete', false],
    // prefixed patterns
    ['org.fedoraproject.*.buildsys.tag', 'org.fedoraproject.stg.buildsys.tag', true],
    ['org.fedoraproject.*.buildsys.tag', 'buildsys.tag', false],
  ])('pattern %s against %s is %s', (pattern, topic, expected) => {
    expect(topicMatches(pattern, topic)).toBe(expected);
  });

  it('treats `*` and `#` as wildcards only when they are a whole word', () => {
    expect(topicMatches('bodhi.comp*', 'bodhi.compose')).toBe(false);
    expect(topicMatches('bodhi.comp#', 'bodhi.compose.complete')).toBe(false);
  });

  it('matches a pattern with several `#` against a long topic', () => {
    const topic = Array.from({ length: 30 }, (_, i) => `w${i}`).join('.');
    expect(topicMatches('#.#.#.#.#.nomatch', topic)).toBe(false);
    expect(topicMatches('#.w10.#.w20.#', topic)).toBe(true);
  });
});
