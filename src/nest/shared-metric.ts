import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerMetricDefinition } from './metric-names';

/** The metric kinds the library publishes. */
export type LibraryMetric = Counter<string> | Gauge<string> | Histogram<string>;

/**
 * The users of one metric object: whoever leased it, each with what it contributes at
 * scrape time. Get-or-create hands the same object to every app in the process that uses
 * the registry, so each app adds and later removes only its own part.
 */
interface Sharing {
  readonly owners: Map<object, (() => void) | undefined>;
}

/** A registry-wide symbol, so that two copies of the package recognise each other's metrics. */
const SHARING = Symbol.for('nest-resilience.metric-sharing');

type Shared<M> = M & { [SHARING]?: Sharing };

/** What prom-client keeps on every metric (not in its typings). */
interface MetricInternals {
  type?: unknown;
  labelNames?: readonly string[];
}

/** One owner's hold on a shared metric. */
export interface MetricLease<M extends LibraryMetric> {
  readonly metric: M;
  /**
   * Withdraws the owner and its scrape-time contribution; the last owner to leave takes the
   * metric out of the registry, so a registry that outlives an app keeps none of its series.
   */
  release(): void;
}

/**
 * Leases the library's metric `name` in `registry`, creating it with `create` when the
 * registry has none. `collect`, when given, runs on every scrape of the metric until the
 * lease is released.
 * @throws Error when `registry` holds a metric of that name the library did not create, or
 * one of another type or label set: two meanings under one name would corrupt both.
 */
export function leaseMetric<M extends LibraryMetric>(
  registry: Registry,
  name: string,
  definition: BreakerMetricDefinition,
  create: (collect: () => void) => M,
  collect?: () => void,
): MetricLease<M> {
  const existing = registry.getSingleMetric(name) as Shared<M> | undefined;
  let metric: Shared<M>;
  let sharing: Sharing;
  if (existing === undefined) {
    sharing = { owners: new Map() };
    metric = create(() => {
      for (const contribute of sharing.owners.values()) contribute?.();
    });
    Object.defineProperty(metric, SHARING, { value: sharing });
  } else {
    const internals = existing as unknown as MetricInternals;
    if (
      existing[SHARING] === undefined ||
      internals.type !== definition.type ||
      internals.labelNames?.join() !== definition.labelNames.join()
    ) {
      throw new Error(
        `A metric named "${name}" is already registered and is not nest-resilience's ${definition.type} ` +
          `{${definition.labelNames.join(',')}}; set the ResilienceModule option metrics.prefix to keep the series apart`,
      );
    }
    metric = existing;
    sharing = existing[SHARING];
  }
  const owner = {};
  sharing.owners.set(owner, collect);
  return {
    metric,
    release() {
      sharing.owners.delete(owner);
      // The registry may have been cleared and given a new metric of that name meanwhile: leave that one be.
      if (sharing.owners.size === 0 && registry.getSingleMetric(name) === metric) {
        registry.removeSingleMetric(name);
      }
    },
  };
}
