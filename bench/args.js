'use strict';

/** Command-line options of the bench scripts: `--name=value`. */

const raw = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/**
 * A number option (finite, not negative: counts, seconds, sizes), or `fallback` when absent.
 * @throws {Error} naming the option and what it was given, for anything else.
 */
const numberArg = (name, fallback) => {
  const value = raw(name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) {
    throw new Error(`--${name}=${value}: expected a number >= 0 (default ${fallback})`);
  }
  return number;
};

/** A comma-separated option, or `undefined` when absent. */
const listArg = (name) => raw(name)?.split(',');

module.exports = { numberArg, listArg };
