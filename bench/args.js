'use strict';

/** Command-line options of the bench scripts: `--name=value`. */

const raw = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** A number option, or `fallback` when absent. */
const numberArg = (name, fallback) => {
  const value = raw(name);
  return value === undefined ? fallback : Number(value);
};

/** A comma-separated option, or `undefined` when absent. */
const listArg = (name) => raw(name)?.split(',');

module.exports = { numberArg, listArg };
