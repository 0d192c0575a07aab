import { escapeUnprintable } from '../../core/printable';
import type { ReplayOutcome } from '../dead-letters/dead-letters.service';

export const ADMIN_UNPROTECTED = (path: string): string =>
  `ResilienceModule: the admin routes at ${path} would be mounted without protection. ` +
  `Give admin.guard (a CanActivate class, e.g. your auth guard) or admin.token (a bearer token), ` +
  `or set admin.insecure: true to mount them unprotected on purpose.`;

export const ADMIN_INSECURE = (path: string): string =>
  `Admin routes at ${path} are mounted WITHOUT protection (admin.insecure: true): anyone who can reach ` +
  `this app can trip, reset and disable its circuit breakers.`;

export const ADMIN_LOCKED = (path: string): string =>
  `Admin routes at ${path} are locked (401 on every request): admin.token is empty or unset. ` +
  `Set the token (e.g. ADMIN_TOKEN) to open them. If ConfigModule.forRoot() loads it from a .env file, ` +
  `list ConfigModule.forRoot() before ResilienceModule in imports, or give the token as a function, ` +
  `admin: { token: () => process.env.ADMIN_TOKEN }, which is read when the app starts.`;

export const ADMIN_LOCKED_REQUEST = 'The admin API is locked: no admin token is configured';

export const DEAD_LETTER_REPLAYED = (outcome: ReplayOutcome, actor: string | null): string =>
  `Dead letter "${outcome.letter.id}" of policy "${outcome.letter.policy}" replayed${by(actor)}: ` +
  (outcome.ok
    ? outcome.ranBefore
      ? 'its call had succeeded in an earlier replay (not run again), removed now'
      : 'succeeded, removed'
    : outcome.notRun === true
      ? `not run (${escapeUnprintable(outcome.error.message)}), kept as it was`
      : `failed again (${escapeUnprintable(outcome.error.message)}), kept`);

export const DEAD_LETTERS_PURGED = (
  count: number,
  policy: string | undefined,
  actor: string | null,
): string =>
  `${count} dead letter(s)${policy === undefined ? '' : ` of policy "${escapeUnprintable(policy)}"`} purged${by(actor)}`;

const by = (actor: string | null): string => (actor === null ? '' : ` by ${escapeUnprintable(actor)}`);

export const NO_FLEET =
  "scope=fleet needs a store shared by a fleet (store: { type: 'redis', … }); this app's store is its own";

/** What the store keeps (`The audit log`) cannot be reached: the store failed, for `reason`. */
export const STORE_UNREACHABLE = (what: string, reason: string): string =>
  `${what} cannot be reached in the store: ${reason}`;

export const UNKNOWN_BREAKER = (name: string): string => `Unknown circuit breaker "${name}"`;

export const INVALID_FIELD = (field: string, expected: string): string => `${field}: expected ${expected}`;

export const UNKNOWN_FIELDS = (fields: string[], allowed: readonly string[]): string =>
  unknownNames('field', fields, allowed);

export const UNKNOWN_QUERY_PARAMETERS = (names: string[], allowed: readonly string[]): string =>
  unknownNames('query parameter', names, allowed);

/** `unknown field "forced"; expected "reason", "force"`: names that come from the request, escaped and bounded. */
function unknownNames(what: string, names: string[], allowed: readonly string[]): string {
  const shown = names.slice(0, 10).map((name) => `"${escapeUnprintable(name.slice(0, 100))}"`);
  if (names.length > shown.length) shown.push(`and ${names.length - shown.length} more`);
  return (
    `unknown ${what}${names.length > 1 ? 's' : ''} ${shown.join(', ')}; ` +
    `expected ${allowed.length > 0 ? allowed.map((f) => `"${f}"`).join(', ') : 'none'}`
  );
}

export const MISSING_TOKEN = 'Missing admin token: send the header "Authorization: Bearer <token>"';

export const WRONG_TOKEN = 'Invalid admin token';

/** An Authorization header that is not `Bearer <token>`: named by its scheme, never its credentials. */
export const MALFORMED_AUTHORIZATION = (scheme: string | undefined): string =>
  scheme === undefined
    ? 'Malformed admin token: expected the header "Authorization: Bearer <token>", the token alone after "Bearer " (no spaces in it)'
    : `Unsupported authorization scheme "${escapeUnprintable(scheme)}": expected the header "Authorization: Bearer <token>"`;

export const NOT_JSON = (type: string): string =>
  `Unsupported content-type "${escapeUnprintable(type)}"; expected application/json (or no body), which another site's form cannot send`;
