export { BreakerHealthIndicator, type BreakerHealth, type BreakersHealthDetails } from './breaker.health';
