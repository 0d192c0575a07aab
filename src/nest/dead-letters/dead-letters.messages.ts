import { escapeUnprintable } from '../../core/printable';

export const ARGUMENTS_NOT_JSON = (policy: string, problem: string): string =>
  `Policy "${policy}" keeps dead letters, which need arguments that come back the same from JSON ` +
  `(strings, numbers, booleans, null, arrays and plain objects): ${problem}. Pass such values ` +
  `(an ISO string for a Date, an id for an entity), or turn deadLetter off for this policy`;

export const NOT_FOUND = (id: string): string => `No dead letter "${escapeUnprintable(id.slice(0, 100))}"`;

export const NO_REPLAYER = (id: string, policy: string): string =>
  `Dead letter "${id}" cannot be replayed: policy "${policy}" has no replayer in this app ` +
  '(it registers one when a method of the policy first runs; the policy may have been renamed or removed)';

export const REPLAYED_NOT_REMOVED = (id: string, policy: string, reason: string): string =>
  `Dead letter "${id}" (policy "${policy}") was replayed and its call succeeded, but the store could not ` +
  `remove it (${escapeUnprintable(reason)}): it is still listed. Do not run it again by other means; ` +
  'replaying it again removes it without running the call (other instances sharing the store refuse it ' +
  "while the replay's claim lasts, 10 minutes)";

export const REPLAY_IN_PROGRESS = (id: string): string => `Dead letter "${id}" is being replayed already`;

export const ARGUMENTS_TOO_LARGE = (policy: string, bytes: number, max: number): string =>
  `its arguments are ${bytes} bytes as JSON, more than the ${max} a dead letter of policy "${policy}" keeps ` +
  '(pass an id the method can load the data by, rather than the data)';

export const MESSAGE_CUT = (dropped: number): string => `… (${dropped} more characters not kept)`;

export const CLAIM_NOT_FREED = (id: string, error: unknown): string =>
  `Dead letter "${id}" was replayed, but its claim could not be freed (${error instanceof Error ? error.message : String(error)}): ` +
  'another replay of it is refused until the claim expires';

export const ARGUMENTS_NOT_KEPT = (policy: string, reason: string): string =>
  `a dead letter of policy "${policy}" cannot keep its arguments: ${reason}`;

export const TOO_DEEP = (max: number): string =>
  `they are nested more than ${max} levels deep (pass flatter arguments, or an id the method can load the data by)`;

export const NOT_WRITABLE = (error: RangeError): string => `JSON could not write them out (${error.message})`;

export const OLDEST_DROPPED = (policy: string, capacity: number): string =>
  `The store keeps the newest ${capacity} dead letters: past that the oldest go, and one of policy "${policy}" ` +
  'was dropped (said once per policy; replay or purge letters to keep room)';
