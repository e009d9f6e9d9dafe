/** One Prometheus sample: name, labels, value. */
export interface Sample {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  values: Array<{ labels?: Record<string, string>; value: number }>;
}

/** Prometheus text exposition format (version 0.0.4). */
export function renderMetrics(samples: readonly Sample[]): string {
  const lines: string[] = [];
  for (const s of samples) {
    lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
    for (const v of s.values) {
      const labels = v.labels && Object.keys(v.labels).length > 0 ? `{${Object.entries(v.labels).map(([k, l]) => `${k}="${l.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',')}}` : '';
      lines.push(`${s.name}${labels} ${v.value}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
