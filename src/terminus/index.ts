export {
  BreakerHealthIndicator,
  type BreakerHealth,
  type BreakerHealthOptions,
  type BreakerStateCounts,
  type BreakersHealthDetails,
} from './breaker.health';
