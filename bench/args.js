'use strict';

/** Command-line options of the bench scripts: `--name=value`. */

const raw = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/**
 * A number option (finite, at least `min`: counts, seconds, sizes), or `fallback` when absent.
 * @throws {Error} naming the option and what it was given, for anything else.
 */
const numberArg = (name, fallback, min = 0) => {
  const value = raw(name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < min) {
    throw new Error(`--${name}=${value}: expected a number >= ${min} (default ${fallback})`);
  }
  return number;
};

/** A comma-separated option, or `undefined` when absent. */
const listArg = (name) => raw(name)?.split(',');

/**
 * A comma-separated option whose values are some of `choices`, or all of them when absent.
 * @throws {Error} naming the option and the values it does not know, for any other value.
 */
const choicesArg = (name, choices) => {
  const chosen = listArg(name) ?? choices;
  const unknown = chosen.filter((value) => !choices.includes(value));
  if (unknown.length > 0) {
    throw new Error(
      `--${name}=${chosen.join(',')}: no ${unknown.join(', ')}; expected some of ${choices.join(', ')}`,
    );
  }
  return chosen;
};

module.exports = { numberArg, listArg, choicesArg };
