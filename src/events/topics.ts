/**
 * Topic prefixes: the one place they are added and stripped.
 * Fedora publishes `org.fedoraproject.{prod,stg,dev}.<name>`, CentOS `org.centos.{prod,stage}.<name>`;
 * a deployment may configure its own. The catalogue is keyed by the bare `<name>`.
 */
export const KNOWN_PREFIXES = [
  'org.fedoraproject.prod',
  'org.fedoraproject.stg',
  'org.fedoraproject.dev',
  'org.centos.prod',
  'org.centos.stage',
] as const;

export interface SplitTopic {
  /** The prefix found, without the trailing dot; '' when none. */
  prefix: string;
  /** The topic without prefix: the catalogue key. */
  name: string;
}

/** Strips the longest known or configured prefix. */
export function splitTopic(topic: string, configuredPrefix?: string): SplitTopic {
  const prefixes = configuredPrefix ? [configuredPrefix, ...KNOWN_PREFIXES] : [...KNOWN_PREFIXES];
  prefixes.sort((a, b) => b.length - a.length);
  for (const prefix of prefixes) {
    if (prefix && topic.startsWith(`${prefix}.`)) return { prefix, name: topic.slice(prefix.length + 1) };
  }
  return { prefix: '', name: topic };
}

/** The full routing key for a bare topic name. */
export function withPrefix(name: string, prefix: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/** Matches a topic against an AMQP-style pattern: `*` one word, `#` zero or more words. */
export function topicMatches(pattern: string, topic: string): boolean {
  return matchWords(pattern.split('.'), 0, topic.split('.'), 0);
}

function matchWords(p: string[], i: number, t: string[], j: number): boolean {
  if (i === p.length) return j === t.length;
  const word = p[i];
  if (word === '#') {
    for (let k = j; k <= t.length; k++) if (matchWords(p, i + 1, t, k)) return true;
    return false;
  }
  if (j === t.length) return false;
  return (word === '*' || word === t[j]) && matchWords(p, i + 1, t, j + 1);
}
