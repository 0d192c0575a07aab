/** The optional peers, each loaded when a feature that needs it is used. */
export type OptionalPeer = 'prom-client' | '@opentelemetry/api' | 'redis' | 'axios' | 'better-sqlite3';

/**
 * An optional peer, or undefined when it is not installed. Only the peer itself missing means
 * "not installed": any other failure to load it is a broken install and is thrown.
 */
export function requireOptional<T>(name: OptionalPeer): T | undefined {
  try {
    // Each by its literal name, inside this try: bundlers (webpack, esbuild) then bundle the
    // app's copy where it is installed and leave a require that fails here where it is not.
    // `require(name)` would fail every bundled app: webpack never finds it, esbuild leaves it to
    // Node, which loads a second copy (prom-client metrics the app's /metrics never shows).
    /* eslint-disable @typescript-eslint/no-require-imports -- a static import would make the optional peer mandatory */
    switch (name) {
      case 'prom-client':
        return require('prom-client') as T;
      case '@opentelemetry/api':
        return require('@opentelemetry/api') as T;
      case 'redis':
        return require('redis') as T;
      case 'axios':
        return require('axios') as T;
      case 'better-sqlite3':
        return require('better-sqlite3') as T;
    }
    /* eslint-enable @typescript-eslint/no-require-imports */
  } catch (error) {
    if (isMissingPeer(error, name)) return undefined;
    throw error;
  }
}

/** Whether `error`, thrown by requiring `name`, says that `name` itself is not installed. */
export function isMissingPeer(error: unknown, name: string): boolean {
  return (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String(error).includes(`'${name}'`);
}
