// Field schemas several sections of the topology file share: durations, and the two ways a secret is
// given (the name of an environment variable that holds it, or its SHA-256) so the file need hold none.
import { z } from 'zod';
import { parseDuration } from './duration.ts';

/** A duration such as "10s" or "1h30m", parsed to milliseconds. */
export const durationMs = z
  .string({ error: 'expected a duration such as "10s", "5m" or "1h"' })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a duration; write it as "500ms", "10s", "5m" or "1h"`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** The name of an environment variable (of the process that reads the file) holding a secret. */
export const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' });

/** A token's SHA-256 in hex (`printf %s "$TOKEN" | sha256sum`). */
export const tokenSha256 = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, { error: 'must be 64 hex digits (a SHA-256)' });
