/**
 * A JSON value (as `JSON.parse` returns it) as one text whatever key order or spacing the producer
 * wrote (Python's `json.dumps`, a datagrepper export, `JSON.stringify`): object keys sorted at
 * every level, no whitespace. No value at all (`undefined`) is `null`, as it would be on the wire.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
