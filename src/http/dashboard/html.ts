/**
 * HTML built from templates that escape every value: event data is untrusted (anyone allowed to
 * publish an external topic chooses its fields), so nothing reaches a page unescaped unless it is
 * markup this module built.
 */

/** Markup that is already safe: produced by {@link html}, never from data. */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML: safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * A template whose values are escaped: strings and numbers as text, {@link Html} as is, arrays
 * item by item, null, undefined and false as nothing. Attribute values must be quoted in the template.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (const [i, value] of values.entries()) out += render(value) + strings[i + 1]!;
  return new Html(out);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(typeof value === 'string' ? value : JSON.stringify(value) ?? String(value));
}

/** A path of the dashboard with each segment percent-encoded (segments come from data). */
export function pathOf(...segments: string[]): string {
  return `/${segments.map(encodeURIComponent).join('/')}`;
}

/** At most `max` characters of `text`, with `…` where it was cut (keeps pages small). */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The first 12 characters of a checksum, as ostree and `relengd status` print them. */
export function shortCommit(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 12) : '—';
}
