import type { BreakerRegistry } from '../../core/registry';
import { INVALID_RMQ_REJECTED } from '../resilience.messages';

/**
 * What becomes of a RabbitMQ message whose handler a breaker or a policy kept from running, in
 * a microservice that consumes with `noAck: false`: `'nack'` rejects it without requeue (to the
 * queue's dead-letter exchange, if it has one), `'requeue'` puts it back on the queue (the
 * module's `rmqRejected`).
 * @publicApi
 */
export type RmqRejectedMessages = 'nack' | 'requeue';

/** Where `@EventPattern` / `@MessagePattern` say a method is a handler (stable since Nest 6). */
const PATTERN_HANDLER_METADATA = 'microservices:handler_type';

/** The module's `rmqRejected` setting, by the app's registry. */
const byRegistry = new WeakMap<BreakerRegistry, RmqRejectedMessages>();
/** Deliveries settled here: never twice (a second nack of a delivery closes the channel). */
const settled = new WeakSet<object>();

/**
 * The module's `rmqRejected` setting, checked: `undefined` (leave messages to the app), `'nack'`
 * or `'requeue'`.
 * @throws {Error} naming the setting, the value and what is expected.
 */
export function checkRmqRejected(value: unknown): RmqRejectedMessages | undefined {
  if (value === undefined || value === 'nack' || value === 'requeue') return value;
  throw new Error(INVALID_RMQ_REJECTED(value));
}

/** Settles the messages an app's handlers are kept from with `rmqRejected`. */
export function settleRejectedRmqMessages(registry: BreakerRegistry, setting: RmqRejectedMessages): void {
  byRegistry.set(registry, setting);
}

/** An `RmqContext` as Nest gives it to a handler with `@Ctx()`. */
interface RmqDelivery {
  getMessage(): { fields?: unknown; properties?: { replyTo?: unknown } };
  getChannelRef(): { nack(message: object, allUpTo?: boolean, requeue?: boolean): void };
}

/**
 * For a call of the `@EventPattern` / `@MessagePattern` handler `handler` with `args`, in an app
 * with `rmqRejected`: what settles the RabbitMQ message its `RmqContext` argument (`@Ctx()`, which
 * a handler that acks takes) carries, should the call be refused before the handler runs. A
 * request (`@MessagePattern`, whose client got its answer, the error) is never requeued:
 * handled again, it would answer nobody. `undefined` for any other call: no setting, not a
 * handler (a provider method given the context: its caller ran and settles), no `RmqContext`.
 */
export function rmqMessageSettler(
  registry: BreakerRegistry,
  handler: object,
  args: readonly unknown[],
): (() => void) | undefined {
  const setting = byRegistry.get(registry);
  if (setting === undefined) return undefined;
  const context = rmqDeliveryOf(handler, args);
  if (context === undefined) return undefined;
  return () => {
    const message = context.getMessage();
    if (settled.has(message)) return;
    settled.add(message);
    const requeue = setting === 'requeue' && message.properties?.replyTo === undefined;
    try {
      context.getChannelRef().nack(message, false, requeue);
    } catch {
      // The channel closed already: RabbitMQ has requeued every message it had not acked.
    }
  };
}

/**
 * Per protected method, whether it is a pattern handler (decided at its first call: the
 * decorators ran at class definition) and, for one, where its `RmqContext` came last.
 */
const handlers = new WeakMap<object, { contextAt: number } | null>();

/** The `RmqContext` among `args`, for a pattern handler; `undefined` at once for any other method. */
function rmqDeliveryOf(handler: object, args: readonly unknown[]): RmqDelivery | undefined {
  let known = handlers.get(handler);
  if (known === undefined) {
    known = Reflect.getMetadata(PATTERN_HANDLER_METADATA, handler) === undefined ? null : { contextAt: -1 };
    handlers.set(handler, known);
  }
  if (known === null) return undefined;
  // Nest passes a handler's arguments in the same places at each call (a hybrid app's other transports aside).
  const last = args[known.contextAt];
  if (known.contextAt !== -1 && isRmqDelivery(last)) return last;
  const at = args.findIndex(isRmqDelivery);
  if (at === -1) return undefined;
  known.contextAt = at;
  return args[at] as RmqDelivery;
}

function isRmqDelivery(value: unknown): value is RmqDelivery {
  if (typeof value !== 'object' || value === null) return false;
  const context = value as Partial<Record<keyof RmqDelivery, unknown>>;
  if (typeof context.getMessage !== 'function' || typeof context.getChannelRef !== 'function') return false;
  const message: unknown = (value as RmqDelivery).getMessage();
  return typeof message === 'object' && message !== null && 'fields' in message;
}
