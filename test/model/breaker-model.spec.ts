/**
 * The model check: random sequences of calls (settled at once or held in flight), outcomes,
 * clock moves, manual actions and restarts, run against a reference model of DESIGN's
 * semantics (./breaker-model.ts) and a real breaker on each store, on an injected clock.
 * After every command the breaker's snapshot must read as the model's.
 *
 * A failure prints the shrunk sequence and how to replay it:
 *   FC_SEED=<seed> FC_PATH=<path> FC_REPLAY_PATH=<replayPath> npx jest test/model -t <store>
 * FC_RUNS=<n> runs more (or fewer) sequences per store.
 * A new store plugs in as one more entry of STORES (see ./stores-under-test.ts).
 */
import fc from 'fast-check';
import type { Breaker } from '../../src/core/breaker';
import type { BreakerOptions } from '../../src/core/breaker-options';
import type { Clock } from '../../src/core/clock';
import { deferred, type Deferred } from '../core/breaker-test-kit';
import { BreakerModel, type Admitted, type ModelConfig, type Outcome, type Rejected } from './breaker-model';
import {
  memoryStore,
  sqliteStore,
  type AppProcess,
  type StoreSession,
  type StoreUnderTest,
} from './stores-under-test';

/** Sequences per store and CI run: the SQLite store opens a file per sequence. */
const STORES: Array<[StoreUnderTest, number]> = [
  [memoryStore, 4_000],
  [sqliteStore, 1_000],
];
const T0 = 1_700_000_000_000;

class TestClock implements Clock {
  t = T0;
  now(): number {
    return this.t;
  }
}

interface Model {
  breaker: BreakerModel;
  held: Admitted[];
  readonly config: ModelConfig;
  readonly keepsState: boolean;
}

interface Real {
  readonly clock: TestClock;
  readonly session: StoreSession;
  readonly options: BreakerOptions;
  process: AppProcess;
  held: Array<{ gate: Deferred<unknown>; result: Promise<unknown> }>;
}

type Command = fc.AsyncCommand<Model, Real>;

/** What each outcome is made of: the options below weigh and classify these errors. */
function settleWith(gate: Deferred<unknown>, outcome: Outcome): void {
  if (outcome.type === 'success') gate.resolve('ok');
  else if (outcome.type === 'failure')
    gate.reject(Object.assign(new Error('down'), { weight: outcome.weight }));
  else gate.reject(Object.assign(new Error('not found'), { ignored: true }));
}

function breakerOptions(config: ModelConfig): BreakerOptions {
  return {
    ...config,
    failureWeight: (error) => (error as { weight?: number }).weight ?? 1,
    isFailure: (error) => (error as { ignored?: boolean }).ignored !== true,
  };
}

function snapshotOf(breaker: Breaker) {
  const { state, failures, successes, calls, rejected, tripCount, openedAt, nextAttemptAt, inFlight } =
    breaker.snapshot();
  return { state, failures, successes, calls, rejected, tripCount, openedAt, nextAttemptAt, inFlight };
}

/** Every command ends here: the real breaker must read as the model. */
function compare(m: Model, r: Real): void {
  expect(snapshotOf(r.process.breaker)).toEqual(m.breaker.snapshot(r.clock.t));
}

async function expectRejection(result: Promise<unknown>, expected: Rejected): Promise<void> {
  await expect(result).rejects.toMatchObject({ code: 'BREAKER_OPEN', ...expected });
}

/** Starts a call; it settles at once with `outcome`, or stays in flight (`outcome` null). */
const call = (outcome: Outcome | null): Command => ({
  check: () => true,
  async run(m, r) {
    const gate = deferred<unknown>();
    const result = r.process.breaker.execute(() => gate.promise);
    const admitted = m.breaker.admit(r.clock.t);
    if (!('epoch' in admitted)) {
      await expectRejection(result, admitted);
    } else if (outcome === null) {
      result.catch(() => undefined);
      m.held.push(admitted);
      r.held.push({ gate, result });
    } else {
      settleWith(gate, outcome);
      await result.catch(() => undefined);
      m.breaker.settle(admitted, outcome, r.clock.t);
    }
    compare(m, r);
  },
  toString: () => (outcome === null ? 'start()' : `call(${label(outcome)})`),
});

/** Settles a call in flight, picked by `pick` among those held. */
const finish = (pick: number, outcome: Outcome): Command => ({
  check: (m) => m.held.length > 0,
  async run(m, r) {
    const i = pick % m.held.length;
    const [admitted] = m.held.splice(i, 1);
    const [{ gate, result }] = r.held.splice(i, 1);
    settleWith(gate, outcome);
    await result.catch(() => undefined);
    m.breaker.settle(admitted, outcome, r.clock.t);
    compare(m, r);
  },
  toString: () => `finish(#${pick}, ${label(outcome)})`,
});

const advance = (ms: number): Command => ({
  check: () => true,
  async run(m, r) {
    r.clock.t += ms;
    compare(m, r);
  },
  toString: () => `advance(${ms})`,
});

const trip: Command = {
  check: () => true,
  async run(m, r) {
    await r.process.breaker.trip('model check');
    m.breaker.trip(r.clock.t);
    compare(m, r);
  },
  toString: () => 'trip()',
};

const reset = (force: boolean): Command => ({
  check: () => true,
  async run(m, r) {
    const result = r.process.breaker.reset({ force });
    const left = m.breaker.reset(r.clock.t, force);
    if (left > 0) await expect(result).rejects.toMatchObject({ code: 'RESET_COOLDOWN', retryAfterMs: left });
    else await result;
    compare(m, r);
  },
  toString: () => `reset(${force ? '{ force: true }' : ''})`,
});

const disable: Command = {
  check: () => true,
  async run(m, r) {
    await r.process.breaker.disable('model check');
    m.breaker.disable(r.clock.t);
    compare(m, r);
  },
  toString: () => 'disable()',
};

/** Stops the process (calls still in flight die with it) and starts a new one on the same store. */
const restart: Command = {
  check: () => true,
  async run(m, r) {
    await r.process.stop();
    r.process = r.session.start(r.clock, r.options);
    r.held = [];
    m.held = [];
    if (m.keepsState) m.breaker.restartKeepingState(r.clock.t);
    else m.breaker = new BreakerModel(m.config);
    compare(m, r);
  },
  toString: () => 'restart()',
};

function label(outcome: Outcome): string {
  return outcome.type === 'failure' ? `failure ${outcome.weight}` : outcome.type;
}

const outcomes: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ type: 'success' as const }) },
  { weight: 3, arbitrary: fc.constantFrom(1, 0.5).map((weight) => ({ type: 'failure' as const, weight })) },
  { weight: 1, arbitrary: fc.constant({ type: 'ignored' as const }) },
);

const commands = fc.commands(
  [
    // Listed twice: calls are the bulk of a breaker's life.
    outcomes.map(call),
    outcomes.map(call),
    fc.constant(call(null)),
    fc.tuple(fc.nat({ max: 9 }), outcomes).map(([pick, outcome]) => finish(pick, outcome)),
    fc.oneof(fc.integer({ min: 1, max: 3_000 }), fc.constantFrom(50, 100, 500, 1_000, 5_000)).map(advance),
    fc.constant(trip),
    fc.boolean().map(reset),
    fc.constant(disable),
    fc.constant(restart),
  ],
  { maxCommands: 40, replayPath: process.env.FC_REPLAY_PATH },
);

const configs: fc.Arbitrary<ModelConfig> = fc
  .record({
    failureThreshold: fc.option(fc.constantFrom(1, 1.5, 2, 3), { nil: undefined }),
    failureRateThreshold: fc.option(fc.constantFrom(0.5, 1), { nil: undefined }),
    minimumCalls: fc.integer({ min: 1, max: 4 }),
    window: fc.oneof(
      fc.integer({ min: 1, max: 6 }).map((size) => ({ type: 'count' as const, size })),
      fc.constantFrom(1_000, 2_000, 10_000).map((ms) => ({ type: 'time' as const, ms })),
    ),
    openDuration: fc.constantFrom(100, 1_000),
    openBackoff: fc.constantFrom(1, 2),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
    halfOpenMaxWait: fc.constantFrom(50, 500, 5_000),
    resetCooldown: fc.constantFrom(0, 300, 5_000),
  })
  .map((c) => ({
    ...c,
    failureThreshold: c.failureThreshold ?? (c.failureRateThreshold === undefined ? 1 : undefined),
    minimumCalls: c.window.type === 'count' ? Math.min(c.minimumCalls, c.window.size) : c.minimumCalls,
    openDurationMax: c.openBackoff > 1 ? c.openDuration * 4 : c.openDuration,
  }));

/** Runs the property, and on failure names the seed and path that replay it. */
async function check(
  property: fc.IAsyncProperty<[ModelConfig, Iterable<Command>]>,
  runs: number,
  store: string,
) {
  const env = process.env;
  const details = await fc.check(property, {
    numRuns: env.FC_RUNS === undefined ? runs : Number(env.FC_RUNS),
    ...(env.FC_SEED !== undefined && { seed: Number(env.FC_SEED), path: env.FC_PATH, endOnFailure: true }),
  });
  if (details.failed) {
    // fast-check prints the commands' own replay path in the counterexample, as /*replayPath="…"*/.
    const replayPath = /replayPath="([^"]*)"/.exec(String(details.counterexample?.[1]))?.[1] ?? '';
    throw new Error(
      `${fc.defaultReportMessage(details)}\n\nReplay: FC_SEED=${details.seed} ` +
        `FC_PATH=${details.counterexamplePath ?? ''} FC_REPLAY_PATH='${replayPath}' npx jest test/model -t ${store}` +
        `\n\n${(details.errorInstance as Error | undefined)?.message ?? ''}`,
      { cause: details.errorInstance },
    );
  }
}

describe.each(STORES.map(([store, runs]) => [store.name, store, runs] as const))(
  'A breaker on the %s store, against the model',
  (_name, store, runs) => {
    it(`should read as the model after every command of ${runs} random sequences`, async () => {
      const property = fc.asyncProperty(configs, commands, async (config, cmds) => {
        const session = store.open();
        const clock = new TestClock();
        const options = breakerOptions(config);
        const real: Real = { clock, session, options, process: session.start(clock, options), held: [] };
        try {
          await fc.asyncModelRun(
            () => ({
              model: {
                breaker: new BreakerModel(config),
                held: [],
                config,
                keepsState: store.keepsStateAcrossRestarts,
              },
              real,
            }),
            cmds,
          );
        } finally {
          await real.process.stop();
          session.dispose();
        }
      });
      await check(property, runs, store.name);
    }, 120_000);
  },
);
