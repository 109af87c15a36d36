// A site's address in the topology file: an IP address or a host name, and never dotted digits that are
// no IPv4 address (a typo such as 127.0.0.300 would otherwise pass as a host name).
import { isIP } from 'node:net';
import { z } from 'zod';

const HOSTNAME =
  /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
export const address = z
  .string({
    error: (i) =>
      i.input === undefined
        ? 'missing: the IP address or host name where peers reach this site'
        : 'expected an IP address or host name',
  })
  .superRefine((a, ctx) => {
    // Dotted digits are meant as an IPv4 address, never a host name: resolvers read "10.1.2" or
    // "127.0.0.300" as numbers (or refuse them), so a typo there would aim probes somewhere else.
    const notIpv4 = /^[0-9.]+$/.test(a) && isIP(a) === 0 ? ipv4Problem(a) : undefined;
    if (notIpv4 !== undefined)
      ctx.addIssue({ code: 'custom', message: `"${a}" is not a valid IPv4 address: ${notIpv4}` });
    else if (isIP(a) === 0 && !HOSTNAME.test(a))
      ctx.addIssue({ code: 'custom', message: `"${a}" is not an IP address or host name` });
  });

/** What is wrong with dotted digits that are not an IPv4 address. */
function ipv4Problem(a: string): string {
  const parts = a.split('.');
  const fix = 'write four numbers from 0 to 255 separated by dots, e.g. 10.1.0.10';
  if (parts.some((p) => p === '')) return `a dot stands at the start, at the end or next to another; ${fix}`;
  if (parts.length !== 4) return `it has ${parts.length} numbers where IPv4 has 4; ${fix}`;
  const big = parts.find((p) => Number(p) > 255);
  if (big !== undefined) return `${big} is over 255; ${fix}`;
  return `a leading zero (${parts.find((p) => p.length > 1 && p.startsWith('0'))}) is read as octal by some resolvers; ${fix}`;
}
