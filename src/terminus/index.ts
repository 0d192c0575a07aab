export {
  BreakerHealthIndicator,
  type BreakerHealth,
  type BreakerHealthOptions,
  type BreakerStateCounts,
  type BreakersHealthDetails,
  type PolicyHealth,
} from './breaker.health';
