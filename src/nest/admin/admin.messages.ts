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

export const NO_FLEET =
  "scope=fleet needs a store shared by a fleet (store: { type: 'redis', … }); this app's store is its own";

export const FLEET_UNREACHABLE = (reason: string): string =>
  `The fleet view cannot be read from the store: ${reason}`;

export const UNKNOWN_BREAKER = (name: string): string => `Unknown circuit breaker "${name}"`;

export const INVALID_FIELD = (field: string, expected: string): string => `${field}: expected ${expected}`;

export const UNKNOWN_FIELDS = (fields: string[], allowed: readonly string[]): string =>
  `unknown field${fields.length > 1 ? 's' : ''} ${fields.map((f) => `"${f}"`).join(', ')}; ` +
  `expected ${allowed.length > 0 ? allowed.map((f) => `"${f}"`).join(', ') : 'none'}`;

export const MISSING_TOKEN = 'Missing admin token: send the header "Authorization: Bearer <token>"';

export const WRONG_TOKEN = 'Invalid admin token';
