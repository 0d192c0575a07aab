import type * as PromClient from 'prom-client';
import type { Counter, Registry } from 'prom-client';
import type { BreakerMetricDefinition } from './metric-names';

/**
 * The users of one metric object: whoever leased it, each with what it contributes at scrape
 * time. Get-or-create hands the same object to every app in the process that uses the
 * registry, so each app adds and later removes only its own part.
 */
interface Sharing<C> {
  /**
   * What the metric is (type, labels, buckets) and how owners contribute to it: copies of the
   * package that disagree on either refuse to share the metric.
   */
  readonly signature: string;
  readonly owners: Map<object, C>;
}

/** A registry-wide symbol, so that two copies of the package recognise each other's metrics. */
const SHARING = Symbol.for('nest-resilience.metric-sharing');

/** Bumped whenever what owners contribute to a shared metric changes. */
const SHARING_PROTOCOL = 2;

type Shared<M, C> = M & { [SHARING]?: Sharing<C> };

/** One owner's hold on a shared metric. */
export interface MetricLease<M> {
  readonly metric: M;
  /**
   * Withdraws the owner and its scrape-time contribution; the last owner to leave takes the
   * metric out of the registry, so a registry that outlives an app keeps none of its series.
   */
  release(): void;
}

/**
 * Leases the library's metric `name` in `registry`, creating (and registering) it with
 * `create` when the registry has none; `create` is handed the contributions of every owner
 * there is at the time of a scrape. `contribution` is this owner's, until the lease is released.
 * @throws Error when `registry` holds a metric of that name the library did not create, or
 * one of another type, label set or buckets: two meanings under one name would corrupt both.
 */
export function leaseMetric<M extends object, C>(
  registry: Registry,
  name: string,
  definition: BreakerMetricDefinition,
  create: (contributions: () => Iterable<C>) => M,
  contribution: C,
): MetricLease<M> {
  const signature = signatureOf(definition);
  const existing = registry.getSingleMetric(name) as Shared<M, C> | undefined;
  let metric: Shared<M, C>;
  let sharing: Sharing<C>;
  if (existing === undefined) {
    sharing = { signature, owners: new Map() };
    metric = create(() => sharing.owners.values());
    Object.defineProperty(metric, SHARING, { value: sharing });
  } else {
    if (existing[SHARING]?.signature !== signature) {
      throw new Error(
        `A metric named "${name}" is already registered and is not nest-resilience's ${definition.type} ` +
          `{${definition.labelNames.join(',')}}; set the ResilienceModule option metrics.prefix to keep the series apart`,
      );
    }
    metric = existing;
    sharing = existing[SHARING];
  }
  const owner = {};
  sharing.owners.set(owner, contribution);
  return {
    metric,
    release() {
      sharing.owners.delete(owner);
      // The registry may have been cleared and given a new metric of that name meanwhile: leave that one be.
      if (sharing.owners.size === 0 && (registry.getSingleMetric(name) as object | undefined) === metric) {
        registry.removeSingleMetric(name);
      }
    },
  };
}

function signatureOf({ type, labelNames, buckets = [] }: BreakerMetricDefinition): string {
  return `${SHARING_PROTOCOL}:${type}{${labelNames.join(',')}}[${buckets.join(',')}]`;
}

/**
 * A prom-client counter whose scrape (`collect`) is told whether the counter was reset since the
 * last one. `registry.resetMetrics()` (some apps call it between tests or scrapes) resets every
 * metric, which takes out every series of a counter, those the library publishes at 0 from the
 * start too; the next scrape, told, publishes them again. Nothing is asked or done per call.
 */
export function counterTellingResets(
  prom: typeof PromClient,
  registry: Registry,
  name: string,
  definition: { readonly help: string; readonly labelNames: readonly string[] },
  collect: (reset: boolean) => void,
): Counter<string> {
  let wasReset = false;
  const counter = new prom.Counter({
    name,
    help: definition.help,
    labelNames: definition.labelNames,
    registers: [registry],
    collect: () => {
      const reset = wasReset;
      wasReset = false;
      collect(reset);
    },
  });
  const reset = counter.reset.bind(counter);
  counter.reset = () => {
    reset();
    wasReset = true;
  };
  return counter;
}
