'use strict';

/**
 * Bytes per breaker: `node --expose-gc bench/memory.js <variant>`, one fresh process per
 * variant so no library's heap or JIT state leaks into another's figure.
 *
 * Counts heapUsed plus ArrayBuffer backing stores: typed arrays above 64 bytes keep their
 * data outside the JS heap, where heapUsed alone would miss it. Names and the array that
 * holds the breakers exist before the first reading, so only the breakers are counted.
 * `idle`: breakers just made. `used`: the same breakers after each served one successful
 * call (a breaker that allocates lazily shows its full size then).
 */

const { LIBS } = require('./adapters');
const { collectGarbage } = require('./harness');

const COUNT = 10_000;

const VARIANTS = {
  ours: (name) => LIBS.ours.closed(name),
  opossum: (name, fn) => LIBS.opossum.closed(name, fn),
  cockatiel: () => LIBS.cockatiel.closed(),
  'cockatiel-consecutive': () => LIBS.cockatiel.consecutive(),
};

const CALL = {
  ours: (b, fn) => b.execute(fn),
  opossum: (b) => b.fire(),
  cockatiel: (b, fn) => b.execute(fn),
  'cockatiel-consecutive': (b, fn) => b.execute(fn),
};

function settledBytes() {
  for (let i = 0; i < 4; i++) collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function main() {
  const variant = process.argv[2];
  const make = VARIANTS[variant];
  if (!make) throw new Error(`unknown variant ${variant}; one of ${Object.keys(VARIANTS).join(', ')}`);
  const fn = async () => 1;
  const names = Array.from({ length: COUNT }, (_, i) => `breaker-${i}`);
  const breakers = new Array(COUNT).fill(null);
  // One breaker made, used and dropped first, so one-time module set-up is not counted.
  await CALL[variant](make('warm-up', fn), fn);

  const before = settledBytes();
  for (let i = 0; i < COUNT; i++) breakers[i] = make(names[i], fn);
  const idle = settledBytes();
  for (const b of breakers) await CALL[variant](b, fn);
  const used = settledBytes();

  const perBreaker = (bytes) => Math.round((bytes - before) / COUNT);
  const result = { variant, count: COUNT, idle: perBreaker(idle), used: perBreaker(used) };
  // opossum's bucket timers are unref'd, but exiting at once keeps the run short.
  process.stdout.write(JSON.stringify(result), () => process.exit(0));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
