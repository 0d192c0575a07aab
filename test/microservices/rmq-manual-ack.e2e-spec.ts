import { randomUUID } from 'node:crypto';
import { Controller, type INestMicroservice } from '@nestjs/common';
import {
  type ClientOptions,
  type ClientProxy,
  ClientProxyFactory,
  Ctx,
  EventPattern,
  MessagePattern,
  type MicroserviceOptions,
  Payload,
  type RmqContext,
  Transport,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { connect } from 'amqplib';
import { lastValueFrom, timeout } from 'rxjs';
import { BreakerRegistry } from '../../src/core/registry';
import { CircuitBreaker } from '../../src/nest/circuit-breaker.decorator';
import { RateLimit } from '../../src/nest/policy.decorators';
import type { ResilienceModuleRootOptions } from '../../src/nest/resilience.module-definition';
import { ResilienceModule } from '../../src/nest/resilience.module';
import { PaymentsClient } from '../support/failing-payments';

const run = randomUUID().slice(0, 8);
const ALERT = `manual-ack.alert.${run}`;
const LIMITED = `manual-ack.limited.${run}`;
const NOTE = `manual-ack.note.${run}`;
const QUOTE = `manual-ack.quote.${run}`;
const SETTLES_ITSELF = `manual-ack.settles-itself.${run}`;
const URL = 'amqp://127.0.0.1:5672';

/** What each handler was given, in order: a handler that runs acks its message. */
const handled: string[] = [];
let onHandled: (() => void) | undefined;

/** Handlers as the Nest docs write them for `noAck: false`: each acks its message once done. */
@Controller()
class AlertsController {
  @CircuitBreaker('alerts')
  @EventPattern<string>(ALERT)
  async alert(@Payload() data: unknown, @Ctx() context: RmqContext): Promise<void> {
    done(data, context);
  }

  @RateLimit({ limit: 1, interval: 60_000 })
  @EventPattern<string>(LIMITED)
  async limited(@Payload() data: unknown, @Ctx() context: RmqContext): Promise<void> {
    done(data, context);
  }

  /** Not protected: shows whether the consumer still gets messages. */
  @EventPattern<string>(NOTE)
  async note(@Payload() data: unknown, @Ctx() context: RmqContext): Promise<void> {
    done(data, context);
  }

  @CircuitBreaker('quotes')
  @MessagePattern(QUOTE)
  async quote(@Payload() data: unknown, @Ctx() context: RmqContext): Promise<string> {
    done(data, context);
    return `quote ${data}`;
  }

  /** Settles its message, then fails: the breaker counts the failure, the message is the handler's. */
  @CircuitBreaker('settles-itself')
  @EventPattern<string>(SETTLES_ITSELF)
  async settlesItself(@Payload() data: unknown, @Ctx() context: RmqContext): Promise<void> {
    context.getChannelRef().nack(context.getMessage(), false, false);
    handled.push(String(data));
    onHandled?.();
    throw new Error('the alert service is down');
  }
}

function done(data: unknown, context: RmqContext): void {
  context.getChannelRef().ack(context.getMessage());
  handled.push(String(data));
  onHandled?.();
}

/** Resolves once `handled` holds `count` entries; fails after 3 s, which only a stalled consumer takes. */
function handledReaches(count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the consumer stalled: ${handled.length} of ${count} handled (${handled})`)),
      3_000,
    );
    onHandled = () => {
      if (handled.length < count) return;
      clearTimeout(timer);
      onHandled = undefined;
      resolve();
    };
    onHandled();
  });
}

jest.setTimeout(15_000);

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  jest.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  handled.length = 0;
  onHandled = undefined;
});

/**
 * A RabbitMQ microservice with manual acks and a prefetch of 1 (a common production setting) on
 * a queue of its own whose dead letters go to `<queue>.dead`, and a client connected to it.
 */
async function startMicroservice(options: ResilienceModuleRootOptions): Promise<{
  registry: BreakerRegistry;
  client: ClientProxy;
  deadLetters: () => Promise<string[]>;
}> {
  const queue = `manual-ack.${randomUUID()}`;
  const admin = await connect(URL);
  cleanups.push(() => admin.close());
  const adminChannel = await admin.createChannel();
  await adminChannel.assertQueue(`${queue}.dead`, { durable: false, autoDelete: false });
  cleanups.push(() => adminChannel.deleteQueue(`${queue}.dead`));
  const transport: MicroserviceOptions = {
    transport: Transport.RMQ,
    options: {
      urls: [URL],
      queue,
      noAck: false,
      prefetchCount: 1,
      queueOptions: {
        durable: false,
        autoDelete: true,
        arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': `${queue}.dead` },
      },
    },
  };
  const moduleRef = await Test.createTestingModule({
    imports: [ResilienceModule.forRoot({ metrics: false, ...options })],
    controllers: [AlertsController],
  }).compile();
  const server: INestMicroservice = moduleRef.createNestMicroservice<MicroserviceOptions>({
    ...transport,
    logger: false,
  });
  await server.listen();
  cleanups.push(() => server.close());
  // The client consumes its replies from RabbitMQ's direct reply-to queue, which takes no acks.
  const client = ClientProxyFactory.create({
    ...transport,
    options: { ...transport.options, noAck: true },
  } as ClientOptions);
  await client.connect();
  cleanups.push(() => client.close());
  const deadLetters = async () => {
    const found: string[] = [];
    for (let message = await adminChannel.get(`${queue}.dead`, { noAck: true }); message;) {
      found.push((JSON.parse(message.content.toString()) as { data: string }).data);
      message = await adminChannel.get(`${queue}.dead`, { noAck: true });
    }
    return found;
  };
  return { registry: server.get(BreakerRegistry), client, deadLetters };
}

/** Resolves once `breaker` has rejected `count` calls. */
function rejected(registry: BreakerRegistry, breaker: string, count = 1): Promise<void> {
  return new Promise((resolve) => {
    const check = () => registry.get(breaker).snapshot().rejected >= count && resolve();
    registry.get(breaker).on('rejected', check);
    check();
  });
}

const answerTo = (client: ClientProxy, data: string) =>
  lastValueFrom(client.send(QUOTE, data).pipe(timeout(3_000))).catch((error: unknown) => error);

describe('RabbitMQ with noAck: false: a message whose handler a breaker or a policy kept from running', () => {
  it("is nacked without requeue with rmqRejected: 'nack' (to the queue's dead-letter exchange), and consumption goes on", async () => {
    const { registry, client, deadLetters } = await startMicroservice({ rmqRejected: 'nack' });
    await registry.get('alerts').trip('maintenance');

    await lastValueFrom(client.emit(ALERT, 'rejected'));
    await rejected(registry, 'alerts');
    await registry.get('alerts').reset({ force: true });
    await lastValueFrom(client.emit(ALERT, 'after'));
    await lastValueFrom(client.emit(NOTE, 'note'));

    await handledReaches(2);
    expect(handled).toEqual(['after', 'note']);
    expect(await deadLetters()).toEqual(['rejected']);
  });

  it("is requeued with rmqRejected: 'requeue', and handled once the breaker lets calls through", async () => {
    const { registry, client, deadLetters } = await startMicroservice({ rmqRejected: 'requeue' });
    await registry.get('alerts').trip('maintenance');

    await lastValueFrom(client.emit(ALERT, 'rejected'));
    await rejected(registry, 'alerts');
    await registry.get('alerts').reset({ force: true });
    await lastValueFrom(client.emit(NOTE, 'note'));

    await handledReaches(2);
    expect(handled).toEqual(['rejected', 'note']);
    expect(await deadLetters()).toEqual([]);
  });

  it('is settled when a policy refuses it (a rate limit)', async () => {
    const { client, deadLetters } = await startMicroservice({ rmqRejected: 'nack' });

    await lastValueFrom(client.emit(LIMITED, 'first'));
    await lastValueFrom(client.emit(LIMITED, 'limited'));
    await lastValueFrom(client.emit(NOTE, 'note'));

    await handledReaches(2);
    expect(handled).toEqual(['first', 'note']);
    expect(await deadLetters()).toEqual(['limited']);
  });

  it("is a @MessagePattern request the client got BREAKER_OPEN for: nacked without requeue even with 'requeue'", async () => {
    const { registry, client, deadLetters } = await startMicroservice({ rmqRejected: 'requeue' });
    await registry.get('quotes').trip('maintenance');

    await expect(answerTo(client, 'rejected')).resolves.toMatchObject({
      code: 'BREAKER_OPEN',
      breaker: 'quotes',
    });
    await registry.get('quotes').reset({ force: true });

    await expect(answerTo(client, 'after')).resolves.toBe('quote after');
    expect(handled).toEqual(['after']);
    expect(await deadLetters()).toEqual(['rejected']);
  });

  it('is told from a call of a handler by reading whether the method is a handler once, not at each message', async () => {
    const { registry, client, deadLetters } = await startMicroservice({ rmqRejected: 'nack' });
    await registry.get('alerts').trip('maintenance');
    const handlerTypeReads = countHandlerTypeReads();

    for (const message of ['first', 'second', 'third']) await lastValueFrom(client.emit(ALERT, message));
    await rejected(registry, 'alerts', 3);
    await lastValueFrom(client.emit(NOTE, 'note'));
    await handledReaches(1);

    expect(await deadLetters()).toEqual(['first', 'second', 'third']);
    expect(handlerTypeReads()).toBeLessThanOrEqual(1);
  });

  it('is left alone when the handler ran and settled it itself (no second nack closing the channel)', async () => {
    const { client } = await startMicroservice({ rmqRejected: 'nack' });

    await lastValueFrom(client.emit(SETTLES_ITSELF, 'failed'));
    await lastValueFrom(client.emit(NOTE, 'note'));

    await handledReaches(2);
    expect(handled).toEqual(['failed', 'note']);
  });
});

/**
 * Counts, from now on, the reads of whether a method is an `@EventPattern` / `@MessagePattern`
 * handler that rmqRejected's code makes (error mapping reads it too, for a rejected event).
 */
function countHandlerTypeReads(): () => number {
  const getMetadata = Reflect.getMetadata.bind(Reflect);
  let reads = 0;
  jest
    .spyOn(Reflect, 'getMetadata')
    .mockImplementation((key: unknown, target: object, property?: string | symbol) => {
      if (key === 'microservices:handler_type' && new Error().stack?.includes('rmq-rejected-messages'))
        reads++;
      return getMetadata(key, target, property as string | symbol);
    });
  return () => reads;
}

describe('rmqRejected', () => {
  it('costs a method that is no pattern handler one look at its first call, none after', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ResilienceModule.forRoot({ metrics: false, rmqRejected: 'nack' })],
      providers: [PaymentsClient],
    }).compile();
    moduleRef.useLogger(false);
    const app = await moduleRef.init();
    cleanups.push(() => app.close());
    const handlerTypeReads = countHandlerTypeReads();

    const client = app.get(PaymentsClient);
    for (let call = 0; call < 50; call++) await client.charge().catch(() => undefined);

    expect(app.get(BreakerRegistry).get('payments').snapshot().calls).toBeGreaterThan(0);
    expect(handlerTypeReads()).toBeLessThanOrEqual(1);
  });

  it.each([['drop'], [true], [null]])('fails the boot for %p, saying what is expected', (value) => {
    expect(() => ResilienceModule.forRoot({ rmqRejected: value as never })).toThrow(
      `ResilienceModule: rmqRejected = ${String(value)} is invalid; expected 'nack' or 'requeue'`,
    );
  });
});
