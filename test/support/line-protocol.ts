// Reads back the line protocol wanwatch writes (test side only): measurement, tags, fields, time.
export interface ParsedPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | string | boolean>;
  time_ms: number;
}

/** Splits on `sep` outside quotes and not after a backslash. */
function split(s: string, sep: string, limit = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === sep && !quoted && out.length < limit - 1) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}
const unescapeLp = (s: string) => s.replace(/\\(.)/g, '$1');

export function parseLine(l: string): ParsedPoint {
  const [head = '', fieldText = '', time = ''] = split(l, ' ', 3);
  const [measurement = '', ...tagParts] = split(head, ',');
  const tags: Record<string, string> = {};
  for (const t of tagParts) {
    const [k = '', v = ''] = split(t, '=', 2);
    tags[unescapeLp(k)] = unescapeLp(v);
  }
  const fields: ParsedPoint['fields'] = {};
  for (const f of split(fieldText, ',')) {
    const [k = '', v = ''] = split(f, '=', 2);
    if (v.startsWith('"')) fields[unescapeLp(k)] = v.slice(1, -1).replace(/\\(["\\])/g, '$1');
    else if (v === 'true' || v === 'false') fields[unescapeLp(k)] = v === 'true';
    else fields[unescapeLp(k)] = Number(v.endsWith('i') ? v.slice(0, -1) : v);
  }
  return { measurement: unescapeLp(measurement), tags, fields, time_ms: Number(time) };
}
