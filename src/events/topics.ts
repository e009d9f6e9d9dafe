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
  for (const prefix of prefixesLongestFirst(configuredPrefix)) {
    if (prefix && topic.charCodeAt(prefix.length) === DOT && topic.startsWith(prefix)) return { prefix, name: topic.slice(prefix.length + 1) };
  }
  return { prefix: '', name: topic };
}

const DOT = 0x2e;

/** The prefixes to try, longest first; the last configured prefix's list is kept (called for every message). */
let lastPrefixes: { configured: string | undefined; sorted: readonly string[] } | undefined;
function prefixesLongestFirst(configuredPrefix: string | undefined): readonly string[] {
  if (lastPrefixes === undefined || lastPrefixes.configured !== configuredPrefix) {
    const prefixes = configuredPrefix ? [configuredPrefix, ...KNOWN_PREFIXES] : [...KNOWN_PREFIXES];
    lastPrefixes = { configured: configuredPrefix, sorted: prefixes.sort((a, b) => b.length - a.length) };
  }
  return lastPrefixes.sorted;
}

/** The full routing key for a bare topic name. */
export function withPrefix(name: string, prefix: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/**
 * Matches a topic against an AMQP-style pattern: `*` one word, `#` zero or more words. A dynamic
 * programme over (pattern word, topic word), O(pattern words x topic words): the recursive matcher
 * it replaces was exponential in the number of `#` (found by `npm run fuzz`).
 */
export function topicMatches(pattern: string, topic: string): boolean {
  const t = topic.split('.');
  // reach[j]: the pattern words so far consume exactly the first j topic words.
  let reach = new Array<boolean>(t.length + 1).fill(false);
  reach[0] = true;
  for (const word of pattern.split('.')) {
    const next = new Array<boolean>(t.length + 1).fill(false);
    if (word === '#') {
      let any = false;
      for (let j = 0; j <= t.length; j++) next[j] = any ||= reach[j]!;
    } else {
      for (let j = 0; j < t.length; j++) if (reach[j] && (word === '*' || word === t[j])) next[j + 1] = true;
    }
    reach = next;
  }
  return reach[t.length]!;
}
