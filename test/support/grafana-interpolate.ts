// Expands a dashboard query as Grafana's InfluxDB (InfluxQL) data source does before sending it:
// $timeFilter, $__interval, $__interval_ms, ${__from} and ${__to} (epoch milliseconds), and template
// variables (${name} or $name). A multi-value or include-All variable becomes its values regex-escaped,
// joined as (a|b); a single value inside a /regex/ is regex-escaped too; anywhere else it is put in as
// it is.
export interface VariableValue {
  values: string[];
  multi: boolean;
}

export interface Interpolation {
  from_ms: number;
  to_ms: number;
  interval: string;
  interval_ms: number;
  variables: Record<string, VariableValue>;
}

const escapeRegex = (s: string) => s.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

export function interpolate(query: string, ctx: Interpolation): string {
  return query
    .replace(/\$timeFilter/g, `time >= ${ctx.from_ms}ms and time <= ${ctx.to_ms}ms`)
    .replace(/\$__interval_ms/g, String(ctx.interval_ms))
    .replace(/\$\{__from\}|\$__from\b/g, String(ctx.from_ms))
    .replace(/\$\{__to\}|\$__to\b/g, String(ctx.to_ms))
    .replace(/\$__interval/g, ctx.interval)
    .replace(
      /\$(?:\{(\w+)\}|(\w+))/g,
      (whole, a: string | undefined, b: string | undefined, offset: number, text: string) => {
        const name = (a ?? b) as string;
        const v = ctx.variables[name];
        if (!v) return whole;
        const inRegex = /[=!]~\s*\/[^/]*$/.test(text.slice(0, offset));
        if (v.multi) {
          const esc = v.values.map(escapeRegex);
          return esc.length === 1 ? (esc[0] as string) : `(${esc.join('|')})`;
        }
        const value = v.values[0] ?? '';
        return inRegex ? escapeRegex(value) : value;
      },
    );
}
