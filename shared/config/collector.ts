// The topology file's `collector:` section: where the collector listens and keeps its store, TLS, who
// may use its API (public reads, viewer and operator credentials), the clock skew it accepts from agents
// and the caps on mesh qualifications. The collector applies it (collector/api/, collector/handlers.ts).
import { z } from 'zod';
import { ROLES } from '../topology/settings.ts';
import { durationMs, envVarName, tokenSha256 } from './fields.ts';

/** How far an agent's clock may be from the collector's before its results and heartbeats are refused. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** The longest a mesh qualification may measure each link, unless the file allows more. */
export const DEFAULT_MAX_QUALIFICATION_MS = 3_600_000;
/** The longest each of its throughput tests may run, unless the file allows more. */
export const DEFAULT_MAX_TEST_MS = 60_000;

export const credentialSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, {
      error: 'credential names use letters, digits, "_", "-", "." and "@" (at most 64 characters)',
    }),
    role: z.enum(ROLES, { error: `expected a role: ${ROLES.join(' or ')}` }),
    token_env: envVarName.optional(),
    token_sha256: tokenSha256.optional(),
  })
  .superRefine((c, ctx) => {
    if ((c.token_env === undefined) !== (c.token_sha256 === undefined)) return;
    ctx.addIssue({
      code: 'custom',
      message:
        'give exactly one of token_env (an environment variable of the collector holding the token) or token_sha256 (its SHA-256)',
    });
  });

/** No two credentials share a name: the logs would not say who did what. */
const credentialList = z
  .array(credentialSchema)
  .default([])
  .superRefine((list, ctx) => {
    list.forEach((c, i) => {
      const first = list.findIndex((o) => o.name === c.name);
      if (first !== i)
        ctx.addIssue({
          code: 'custom',
          path: [i, 'name'],
          message: `"${c.name}" is already the name of credentials[${first}]; give each credential its own name`,
        });
    });
  });

export const collectorSchema = z.strictObject({
  listen: z.string().default('127.0.0.1:8080'),
  data_dir: z.string().default('./data'),
  tls: z.strictObject({ cert: z.string(), key: z.string(), client_ca: z.string().optional() }).optional(),
  retention: durationMs.default(30 * 86_400_000),
  public_read: z.boolean().default(false),
  credentials: credentialList,
  max_clock_skew: durationMs
    .refine((ms) => ms >= 1000 && ms <= 86_400_000, { error: 'must be from 1s to 1d' })
    .default(DEFAULT_MAX_CLOCK_SKEW_MS),
  qualifications: z
    .strictObject({
      max_duration: durationMs
        .refine((ms) => ms >= 1000 && ms <= 24 * 3_600_000, { error: 'must be from 1s to 24h' })
        .default(DEFAULT_MAX_QUALIFICATION_MS),
      max_test_duration: durationMs
        .refine((ms) => ms >= 1000 && ms <= 3_600_000, { error: 'must be from 1s to 1h' })
        .default(DEFAULT_MAX_TEST_MS),
    })
    .prefault({}),
});
