/**
 * An optional peer (`prom-client`, `@opentelemetry/api`), or undefined when it is not
 * installed. Only the peer itself missing means "not installed": any other failure to load it
 * is a broken install and is thrown.
 */
export function requireOptional<T>(name: string): T | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a static import would make the optional peer mandatory
    return require(name) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String(error).includes(`'${name}'`)) {
      return undefined;
    }
    throw error;
  }
}
