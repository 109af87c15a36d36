// A gauge family written straight to the exposition text, for families of hundreds of thousands of
// series set all at once (links.ts says why). A gauge's lines read the same in the Prometheus text
// format and in OpenMetrics; labels are escaped as both require.

/** `{name: value, …}` as `name="value",…` (backslash, double quote and newline escaped). */
export function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
    .join(',');
}

const number = (v: number) =>
  Number.isNaN(v)
    ? 'NaN'
    : v === Number.POSITIVE_INFINITY
      ? '+Inf'
      : v === Number.NEGATIVE_INFINITY
        ? '-Inf'
        : `${v}`;

export class GaugeFamily {
  private lines: string[] = [];
  private readonly head: string;

  constructor(
    readonly name: string,
    help: string,
  ) {
    this.head = `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} gauge`;
  }

  reset(): void {
    this.lines = [];
  }

  /** One series: `labels` as labelText() writes them. */
  set(labels: string, value: number): void {
    this.lines.push(`${this.name}{${labels}} ${number(value)}`);
  }

  /** The family's text, without a newline at the end. */
  text(): string {
    return this.lines.length === 0 ? this.head : `${this.head}\n${this.lines.join('\n')}`;
  }
}
