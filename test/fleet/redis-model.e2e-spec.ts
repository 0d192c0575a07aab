/**
 * The model check of the redis store: random sequences of commands run against a fleet of three
 * instances (each a registry on its own RedisStore, one shared key prefix) and a redis-server
 * this suite starts on a port of its own. Commands: a call settled at once or held in flight on
 * one instance, settling a held call, letting time pass, trip / reset / disable on one instance,
 * restarting one instance, and Redis outages of two kinds: a stall (the server stopped with
 * SIGSTOP, so it stops answering while keeping its data and connections, then SIGCONT) and a
 * crash (killed, then started again empty, as `--save ''` does: the fleet state is lost).
 *
 * Time: Redis' clock decides fleet open periods (`TIME` inside Lua) and cannot be faked, so the
 * instances run on the real clock of this machine, which is Redis' clock, and open periods are
 * short real ones (150-300 ms); `wait(ms)` really waits. Windows are count windows only, so
 * that the reference model's verdict on a window does not depend on when calls land.
 *
 * After every command the fleet is awaited until it settles (every store answered by Redis and
 * every instance following the fleet state, at most SETTLE_MS), then:
 * - every instance agrees with the fleet's state in Redis (OPEN there reads OPEN or HALF_OPEN
 *   locally), unless it acted on its own while Redis did not answer and nothing fleet-wide
 *   happened since;
 * - the fleet's generations are published once each, in order (one transition per generation),
 *   and the audit stream holds exactly one entry per transition the scripts made;
 * - trials in flight across the fleet, admitted under one generation, are at most
 *   halfOpenMaxCalls;
 * - the reference model (../model/breaker-model.ts) decides, per instance, when its window
 *   opens the breaker and which calls a FORCED_OPEN or DISABLED fleet rejects or lets through.
 *
 * After a crash every instance keeps its own last verdict (the fleet state is gone) and is held
 * to agree again from the fleet's next transition on.
 *
 * A failure prints the shrunk sequence and how to replay it (FC_SEED, FC_PATH, FC_REPLAY_PATH);
 * FC_RUNS=<n> runs more or fewer sequences, FC_NO_SHRINK=1 reports the first failure unshrunk
 * (shrinking replays sequences in real time).
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import Redis from 'ioredis';
import type { Breaker } from '../../src/core/breaker';
import type { BreakerOptions } from '../../src/core/breaker-options';
import { BreakerRegistry } from '../../src/core/registry';
import { RedisStore } from '../../src/stores/redis/redis.store';
import { deferred, type Deferred } from '../core/breaker-test-kit';
import {
  BreakerModel,
  type Admitted,
  type ModelConfig,
  type Outcome,
  type Rejected,
} from '../model/breaker-model';
import { killHard } from '../support/child-process';
import { startRedisServer, testPrefix } from '../support/redis-fixture';

const RUNS = 40;
const INSTANCES = 3;
const NAME = 'model';
/** How long the fleet may take to settle after a command: propagation plus scheduling slack. */
const SETTLE_MS = 1_500;
const COMMAND_TIMEOUT = 100;
/** Short, so that a store that saw Redis come back re-reads the fleet state soon. */
const HEARTBEAT = 100;
const PORT = 17_379 + Math.floor(Math.random() * 1_000);
const URL = `redis://127.0.0.1:${PORT}`;
const silent = { warn: () => undefined, error: () => undefined, log: () => undefined };

type Outage = 'stall' | 'crash';

type Transition = { g: number; s: string; t: number; m: boolean };

/** One app instance: a registry with the breaker under test, on its own RedisStore. */
interface Instance {
  readonly id: string;
  readonly store: RedisStore;
  readonly breaker: Breaker;
}

interface Held {
  readonly instance: number;
  readonly gate: Deferred<unknown>;
  readonly result: Promise<unknown>;
  /** The fleet generation it was admitted under, when admitted as a HALF_OPEN trial. */
  readonly trialGen: number | null;
  /** The call in its instance's window in the reference model, when admitted there while CLOSED. */
  readonly modelCall: ModelCall | null;
}

/** A call the reference model admitted to one instance's window. */
interface ModelCall {
  readonly window: BreakerModel;
  readonly admitted: Admitted | Rejected;
}

interface Model {
  readonly config: ModelConfig;
  /** Each instance's window, as the reference model sees it while the fleet is CLOSED. */
  windows: BreakerModel[];
  /** The fleet generation the windows were last cleared at: every transition starts them afresh. */
  windowsGen: number;
  outage: Outage | null;
  /** Instances that acted while Redis did not answer: they may decide alone until the fleet acts. */
  alone: Set<number>;
}

interface Real {
  readonly prefix: string;
  readonly options: BreakerOptions;
  readonly redis: Redis;
  readonly heard: Transition[];
  /** What was made before the test's subscriber came back after a crash: generations and audit entries not heard. */
  missed: { gen: number; audited: number };
  instances: Instance[];
  held: Held[];
  restarts: number;
}

type Command = fc.AsyncCommand<Model, Real>;

let server: ChildProcess | undefined;

async function startRedis(): Promise<void> {
  server = await startRedisServer(PORT);
}

/** Starts Redis again after a crash, and waits for the test's subscriber to be subscribed again. */
async function restartRedis(r: Real): Promise<void> {
  await startRedis();
  // Every instance's subscriber, and the test's (disconnected while it resubscribes, it would
  // reject that command unhandled). A transition published before a subscriber is back is not
  // heard by its instance (a known gap, see docs/stores.md).
  await waitFor(
    async () =>
      String(await r.redis.client('LIST'))
        .split('\n')
        .filter((line) => / sub=1 /.test(line)).length >=
      r.instances.length + 1,
    SETTLE_MS,
  );
}

async function startInstance(r: Real, id: string): Promise<Instance> {
  const store = new RedisStore(
    {
      type: 'redis',
      url: URL,
      keyPrefix: r.prefix,
      instanceId: id,
      commandTimeout: COMMAND_TIMEOUT,
      heartbeat: HEARTBEAT,
    },
    silent,
  );
  const registry = new BreakerRegistry({ breakers: { [NAME]: r.options }, auditLog: store.auditLog });
  await store.attach(registry);
  return { id, store, breaker: registry.get(NAME) };
}

function breakerOptions(config: ModelConfig): BreakerOptions {
  return {
    ...config,
    failureWeight: (error) => (error as { weight?: number }).weight ?? 1,
    isFailure: (error) => (error as { ignored?: boolean }).ignored !== true,
  };
}

function settleWith(gate: Deferred<unknown>, outcome: Outcome): void {
  if (outcome.type === 'success') gate.resolve('ok');
  else if (outcome.type === 'failure')
    gate.reject(Object.assign(new Error('down'), { weight: outcome.weight }));
  else gate.reject(Object.assign(new Error('not found'), { ignored: true }));
}

interface FleetState {
  state: string;
  gen: number;
}

async function fleetState(r: Real): Promise<FleetState> {
  const [state, gen] = await r.redis.hmget(`${r.prefix}state:${NAME}`, 'state', 'gen');
  return { state: state ?? 'closed', gen: Number(gen ?? 0) };
}

/** The fleet state an instance's own state reads as: OPEN in Redis is OPEN or HALF_OPEN locally. */
const asFleet = (state: string) => (state === 'half_open' ? 'open' : state);

/** Why the fleet has not settled yet, or null once it has. */
async function unsettled(m: Model, r: Real): Promise<string | null> {
  const down = r.instances.filter((i) => !i.store.stats().up).map((i) => i.id);
  if (down.length > 0) return `stores not up again: ${down.join(', ')}`;
  const fleet = await fleetState(r);
  if (r.heard.filter((t) => t.g > r.missed.gen).length < fleet.gen - r.missed.gen)
    return `heard ${r.heard.length} of ${fleet.gen} generations`;
  const disagreeing = r.instances.flatMap((instance, i) => {
    const state = instance.breaker.snapshot().state;
    return m.alone.has(i) || asFleet(state) === fleet.state ? [] : [`${instance.id}: ${state}`];
  });
  return disagreeing.length === 0
    ? null
    : `fleet ${fleet.state} (gen ${fleet.gen}), ${disagreeing.join(', ')}`;
}

/** Waits for the fleet to settle (outside outages), then checks the invariants. */
async function settleAndCheck(m: Model, r: Real): Promise<void> {
  if (!m.outage) {
    const started = Date.now();
    let why = await unsettled(m, r);
    while (why !== null) {
      if (Date.now() - started > SETTLE_MS)
        throw new Error(`fleet not settled within ${SETTLE_MS} ms: ${why}`);
      await delay(10);
      why = await unsettled(m, r);
    }
    await checkAudit(r);
  }
  checkTrials(m, r);
}

/** One published transition per generation, in order; one audit entry per scripted transition. */
async function checkAudit(r: Real): Promise<void> {
  // Read together: an instance may make a transition meanwhile (its opening reported late).
  const [[, gen], [, entries]] = (await r.redis
    .multi()
    .hget(`${r.prefix}state:${NAME}`, 'gen')
    .xrange(`${r.prefix}audit:transitions`, '-', '+')
    .exec()) as [[null, string | null], [null, Array<[string, string[]]>]];
  const upTo = Number(gen ?? 0);
  await waitFor(
    () => r.heard.filter((t) => t.g > r.missed.gen && t.g <= upTo).length >= upTo - r.missed.gen,
    SETTLE_MS,
  );
  const heard = r.heard.filter((t) => t.g > r.missed.gen && t.g <= upTo);
  expect(heard.map((t) => t.g)).toEqual(heard.map((_, i) => r.missed.gen + i + 1));
  const scripted = scriptedOf(entries).slice(r.missed.audited);
  expect(scripted).toEqual(heard.filter((t) => !t.m).map((t) => ({ to: t.s, at: t.t })));
}

/** The audit entries the scripts added (transitions), oldest first. */
function scriptedOf(entries: Array<[string, string[]]>): Array<{ to: string; at: number }> {
  return entries
    .map(([, fields]) =>
      Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : []))),
    )
    .filter((e) => e.action === 'transition')
    .map((e) => ({ to: e.to, at: Number(e.at) }));
}

function checkTrials(m: Model, r: Real): void {
  const byGen = new Map<number, number>();
  for (const h of r.held) if (h.trialGen !== null) byGen.set(h.trialGen, (byGen.get(h.trialGen) ?? 0) + 1);
  for (const [gen, trials] of byGen)
    expect({ gen, trials: Math.min(trials, m.config.halfOpenMaxCalls) }).toEqual({ gen, trials });
}

/** Starts the windows afresh when the fleet made a transition since they were last looked at. */
async function windowsOf(m: Model, r: Real): Promise<BreakerModel[]> {
  const { gen } = await fleetState(r);
  if (gen !== m.windowsGen) {
    m.windows = m.windows.map(() => new BreakerModel(m.config));
    m.windowsGen = gen;
  }
  return m.windows;
}

/** Whether instance i follows the fleet: Redis answers and it did not act alone meanwhile. */
const follows = (m: Model, i: number) => !m.outage && !m.alone.has(i);

/** Admits a call instance i admitted while CLOSED to its window in the reference model. */
async function admitInModel(m: Model, r: Real, i: number): Promise<ModelCall> {
  const window = (await windowsOf(m, r))[i];
  return { window, admitted: window.admit(0) };
}

/**
 * Settles a call in the reference model, unless its window is gone since it was admitted (a
 * fleet transition, a reset, a restart: the breaker ignores such a call's outcome too) or the
 * instance acted alone meanwhile, and checks the window's verdict: an opening is the fleet's
 * (fleetQuorum 1), else the instance stays CLOSED.
 */
async function settleInModel(m: Model, r: Real, i: number, call: ModelCall, outcome: Outcome): Promise<void> {
  if (!follows(m, i) || m.windows[i] !== call.window || (await fleetState(r)).gen !== m.windowsGen) return;
  if ('epoch' in call.admitted) call.window.settle(call.admitted, outcome, 0);
  const opens = call.window.snapshot(0).state === 'open';
  if (opens) await waitFor(async () => (await fleetState(r)).state !== 'closed', SETTLE_MS);
  const breaker = r.instances[i].breaker;
  expect({ opens, state: opens ? (await fleetState(r)).state : breaker.snapshot().state }).toEqual({
    opens,
    state: opens ? 'open' : 'closed',
  });
}

/** A call on instance i, settled at once with `outcome`, or held in flight (`outcome` null). */
const call = (instance: number, outcome: Outcome | null): Command => ({
  check: () => true,
  async run(m, r) {
    const i = instance % r.instances.length;
    const breaker = r.instances[i].breaker;
    const before = breaker.snapshot().state;
    const fleet = m.outage ? null : await fleetState(r);
    if (m.outage) m.alone.add(i);
    const gate = deferred<unknown>();
    let admitted = false;
    const result = breaker.execute(() => {
      admitted = true;
      return gate.promise;
    });
    result.catch(() => undefined);
    // Admission may ask Redis (a HALF_OPEN trial): wait until the call runs or is rejected.
    await Promise.race([result.catch(() => undefined), waitFor(() => admitted)]);
    if (follows(m, i) && before === 'forced_open') {
      expect(admitted).toBe(false);
      await expect(result).rejects.toMatchObject({ code: 'BREAKER_OPEN', state: 'forced_open' });
    }
    if (follows(m, i) && before === 'disabled') expect(admitted).toBe(true);
    if (!admitted) {
      await expect(result).rejects.toMatchObject({ code: 'BREAKER_OPEN' });
    } else {
      const modelCall = follows(m, i) && before === 'closed' ? await admitInModel(m, r, i) : null;
      if (outcome === null) {
        const trial = breaker.snapshot().state === 'half_open' && follows(m, i) && fleet?.state === 'open';
        r.held.push({ instance: i, gate, result, trialGen: trial ? fleet.gen : null, modelCall });
      } else {
        settleWith(gate, outcome);
        await result.catch(() => undefined);
        if (modelCall !== null) await settleInModel(m, r, i, modelCall, outcome);
      }
    }
    await settleAndCheck(m, r);
  },
  toString: () => `${outcome === null ? 'start' : label(outcome)}@${instance}`,
});

/** Settles a held call, picked by `pick` among those held. */
const finish = (pick: number, outcome: Outcome): Command => ({
  check: () => true,
  async run(m, r) {
    if (r.held.length === 0) return;
    const [held] = r.held.splice(pick % r.held.length, 1);
    if (m.outage) m.alone.add(held.instance);
    settleWith(held.gate, outcome);
    await held.result.catch(() => undefined);
    if (held.modelCall !== null) await settleInModel(m, r, held.instance, held.modelCall, outcome);
    await settleAndCheck(m, r);
  },
  toString: () => `finish(#${pick}, ${label(outcome)})`,
});

const wait = (ms: number): Command => ({
  check: () => true,
  async run(m, r) {
    await delay(ms);
    await settleAndCheck(m, r);
  },
  toString: () => `wait(${ms})`,
});

/** A manual action on instance i: with Redis answering, every instance follows it. */
const manual = (action: 'trip' | 'reset' | 'disable', instance: number): Command => ({
  check: () => true,
  async run(m, r) {
    const i = instance % r.instances.length;
    const breaker = r.instances[i].breaker;
    const before = m.outage ? null : await fleetState(r);
    if (action === 'trip') await breaker.trip('model check');
    else if (action === 'disable') await breaker.disable('model check');
    else await breaker.reset({ force: true });
    if (m.outage) m.alone.add(i);
    // An action that changes nothing here sends nothing: after a crash the fleet may still not know this state.
    else if ((await fleetState(r)).gen !== before?.gen) m.alone.clear();
    // A reset of a CLOSED breaker starts a new window on its own instance only (no fleet transition).
    else if (action === 'reset') m.windows[i] = new BreakerModel(m.config);
    await settleAndCheck(m, r);
    const expected = { trip: 'forced_open', disable: 'disabled', reset: 'closed' }[action];
    if (m.alone.size === 0)
      expect(r.instances.map((x) => x.breaker.snapshot().state)).toEqual(r.instances.map(() => expected));
  },
  toString: () => `${action}@${instance}`,
});

/** Stops instance i (its calls in flight die with it) and starts a new process in its place. */
const restart = (instance: number): Command => ({
  check: () => true,
  async run(m, r) {
    const i = instance % r.instances.length;
    await r.instances[i].store.close();
    r.held = r.held.filter((h) => h.instance !== i);
    r.instances[i] = await startInstance(r, `instance-${i}.${++r.restarts}`);
    m.windows[i] = new BreakerModel(m.config);
    if (m.outage) m.alone.add(i);
    else m.alone.delete(i);
    await settleAndCheck(m, r);
  },
  toString: () => `restart@${instance}`,
});

const redisDown = (kind: Outage): Command => ({
  check: (m) => m.outage === null,
  async run(m, r) {
    if (kind === 'stall') server!.kill('SIGSTOP');
    else await killHard(server!);
    m.outage = kind;
    await settleAndCheck(m, r);
  },
  toString: () => `redisDown(${kind})`,
});

const redisUp: Command = {
  check: (m) => m.outage !== null,
  async run(m, r) {
    if (m.outage === 'stall') server!.kill('SIGCONT');
    else {
      // Redis comes back empty: generations start over, and each instance keeps its own last verdict until the fleet acts.
      r.heard.splice(0);
      r.instances.forEach((_, i) => m.alone.add(i));
      m.windowsGen = -1;
      await restartRedis(r);
      // Instances may have reported their openings before the test's subscriber was back.
      const [gen, audited] = await Promise.all([
        fleetState(r),
        r.redis.xrange(`${r.prefix}audit:transitions`, '-', '+'),
      ]);
      r.missed = { gen: gen.gen, audited: scriptedOf(audited).length };
    }
    m.outage = null;
    await settleAndCheck(m, r);
  },
  toString: () => 'redisUp()',
};

async function waitFor(check: () => boolean | Promise<boolean>, ms = COMMAND_TIMEOUT * 3): Promise<void> {
  const started = Date.now();
  while (!(await check()) && Date.now() - started < ms) await delay(2);
}

function label(outcome: Outcome): string {
  return outcome.type === 'failure' ? `failure ${outcome.weight}` : outcome.type;
}

const outcomes: fc.Arbitrary<Outcome> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ type: 'success' as const }) },
  { weight: 3, arbitrary: fc.constantFrom(1, 0.5).map((weight) => ({ type: 'failure' as const, weight })) },
  { weight: 1, arbitrary: fc.constant({ type: 'ignored' as const }) },
);
const instances = fc.nat({ max: INSTANCES - 1 });

/** A command that hangs fails the sequence, naming itself, instead of the whole suite timing out. */
function bounded(command: Command): Command {
  return {
    ...command,
    run: async (m, r) => {
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${command.toString()} did not end within 10 s`)), 10_000);
      });
      await Promise.race([command.run(m, r), hung]).finally(() => clearTimeout(timer));
    },
  };
}

const commands = fc.commands(
  [
    fc.tuple(instances, outcomes).map(([i, outcome]) => call(i, outcome)),
    fc.tuple(instances, outcomes).map(([i, outcome]) => call(i, outcome)),
    instances.map((i) => call(i, null)),
    fc.tuple(fc.nat({ max: 9 }), outcomes).map(([pick, outcome]) => finish(pick, outcome)),
    fc.constantFrom(20, 100, 250, 400).map(wait),
    fc
      .tuple(fc.constantFrom('trip' as const, 'reset' as const, 'disable' as const), instances)
      .map(([a, i]) => manual(a, i)),
    fc.constantFrom(...Array.from({ length: INSTANCES }, (_, i) => i)).map(restart),
    fc.constantFrom<Outage>('stall', 'crash').map(redisDown),
    fc.constant(redisUp),
  ].map((arbitrary) => arbitrary.map(bounded)),
  { maxCommands: 30, size: 'max', replayPath: process.env.FC_REPLAY_PATH },
);

const configs: fc.Arbitrary<ModelConfig> = fc
  .record({
    failureThreshold: fc.option(fc.constantFrom(1, 1.5, 2, 3), { nil: undefined }),
    failureRateThreshold: fc.option(fc.constantFrom(0.5, 1), { nil: undefined }),
    minimumCalls: fc.integer({ min: 1, max: 4 }),
    size: fc.integer({ min: 1, max: 6 }),
    openDuration: fc.constantFrom(150, 300),
    openBackoff: fc.constantFrom(1, 2),
    halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
    halfOpenMaxWait: fc.constantFrom(100, 400),
  })
  .map(({ size, ...c }) => ({
    ...c,
    window: { type: 'count' as const, size },
    failureThreshold: c.failureThreshold ?? (c.failureRateThreshold === undefined ? 1 : undefined),
    minimumCalls: Math.min(c.minimumCalls, size),
    openDurationMax: c.openBackoff > 1 ? c.openDuration * 4 : c.openDuration,
    resetCooldown: 0,
  }));

async function runSequence(config: ModelConfig, cmds: Iterable<Command>): Promise<void> {
  const prefix = testPrefix();
  const redis = new Redis(PORT, '127.0.0.1');
  const subscriber = new Redis(PORT, '127.0.0.1', { connectionName: 'model-check' });
  const heard: Transition[] = [];
  subscriber.on('message', (_channel: string, message: string) =>
    heard.push(JSON.parse(message) as Transition),
  );
  await subscriber.subscribe(`${prefix}transitions`);
  const r: Real = {
    prefix,
    options: breakerOptions(config),
    redis,
    heard,
    missed: { gen: 0, audited: 0 },
    instances: [],
    held: [],
    restarts: 0,
  };
  const m: Model = {
    config,
    windows: Array.from({ length: INSTANCES }, () => new BreakerModel(config)),
    windowsGen: 0,
    outage: null,
    alone: new Set(),
  };
  try {
    for (let i = 0; i < INSTANCES; i++) r.instances.push(await startInstance(r, `instance-${i}`));
    await fc.asyncModelRun(() => ({ model: m, real: r }), cmds);
  } finally {
    if (m.outage === 'stall') server!.kill('SIGCONT');
    if (m.outage === 'crash') await restartRedis(r);
    await Promise.all(r.instances.map((i) => i.store.close()));
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    subscriber.disconnect();
  }
}

describe('A fleet of three instances on the redis store, against the model', () => {
  beforeAll(startRedis, 10_000);
  afterAll(async () => {
    server?.kill('SIGCONT');
    if (server !== undefined) await killHard(server);
  });

  it(`should agree across the fleet and with the model after every command of ${RUNS} random sequences`, async () => {
    const env = process.env;
    const details = await fc.check(fc.asyncProperty(configs, commands, runSequence), {
      numRuns: env.FC_RUNS === undefined ? RUNS : Number(env.FC_RUNS),
      endOnFailure: env.FC_NO_SHRINK !== undefined,
      verbose: 1,
      ...(env.FC_SEED !== undefined && { seed: Number(env.FC_SEED), path: env.FC_PATH, endOnFailure: true }),
    });
    if (details.failed) {
      const replayPath = /replayPath="([^"]*)"/.exec(String(details.counterexample?.[1]))?.[1] ?? '';
      throw new Error(
        `${fc.defaultReportMessage(details)}\n\nReplay: FC_SEED=${details.seed} ` +
          `FC_PATH=${details.counterexamplePath ?? ''} FC_REPLAY_PATH='${replayPath}' npx jest test/fleet/redis-model` +
          `\n\n${(details.errorInstance as Error | undefined)?.message ?? ''}`,
        { cause: details.errorInstance },
      );
    }
  }, 300_000);
});
