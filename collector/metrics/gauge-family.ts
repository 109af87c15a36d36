// A gauge family written straight to the exposition text, for families of hundreds of thousands of
// series set all at once (links.ts says why). A gauge's lines read the same in the Prometheus text
// format and in OpenMetrics; labels are escaped as both require.

/** A label value as both formats write it between double quotes: backslash, quote and newline escaped. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
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

  /** One series: `labels` written out (`src="a",dst="b"`, values through escapeLabel()). */
  set(labels: string, value: number): void {
    this.lines.push(`${this.name}{${labels}} ${number(value)}`);
  }

  /** The family's text, without a newline at the end. */
  text(): string {
    return this.lines.length === 0 ? this.head : `${this.head}\n${this.lines.join('\n')}`;
  }
}
