import { readFileSync } from 'node:fs';

/**
 * The version of a peer as this Jest project resolves it: the root's for `nest12`,
 * `compat/nest11`'s for `nest11` (see jest.config.js).
 */
export function versionOf(peer: string): string {
  const entry = require.resolve(peer);
  const folder = `/node_modules/${peer}/`;
  const root = entry.slice(0, entry.lastIndexOf(folder) + folder.length);
  return (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }).version;
}

/** Terminus 12 has a `degraded` status; Terminus 11 reports those checks as `up`. */
export const DEGRADED_STATUS = Number(versionOf('@nestjs/terminus').split('.')[0]) >= 12 ? 'degraded' : 'up';

/** The overall `status` of a health check whose only non-up indicator is degraded. */
export const DEGRADED_CHECK_STATUS = DEGRADED_STATUS === 'degraded' ? 'degraded' : 'ok';
