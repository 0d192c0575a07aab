import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Logger,
  NotFoundException,
  Optional,
  Param,
  Post,
  Query,
  Res,
  ServiceUnavailableException,
  SetMetadata,
  type Type,
  UseGuards,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { AuditEntry } from '../../core/audit-log';
import type { Breaker } from '../../core/breaker';
import type { BreakerSnapshot } from '../../core/breaker-snapshot';
import type { DeadLetter } from '../../core/dead-letter-store';
import { isResilienceError, type ResetCooldownError } from '../../core/errors';
import { BreakerRegistry } from '../../core/registry';
import { BreakerStore, type FleetView } from '../../stores/breaker-store';
import { reasonOf } from '../../stores/store-messages';
import { DeadLetters } from '../dead-letters/dead-letters.service';
import { LOG_CONTEXT, SKIP_BREAKER_METADATA } from '../resilience.constants';
import type { AdminOptions } from '../resilience-options.interface';
import { AdminActor } from './admin-actor.decorator';
import { adminGuards } from './admin-guards';
import { readBody, readFlag, readLimit, readNameFilter, readQuery, readReason } from './admin-request';
import { AdminJsonBodyGuard } from './admin-json-body.guard';
import { AdminTokenGuard } from './admin-token.guard';
import { forAdmin, replayAnswer, replayRetryAfter, type ReplaySucceededBody } from './dead-letter-answers';
import {
  ADMIN_INSECURE,
  ADMIN_LOCKED,
  DEAD_LETTERS_PURGED,
  DEAD_LETTER_REPLAYED,
  INVALID_FIELD,
  NO_FLEET,
  STORE_UNREACHABLE,
  UNKNOWN_BREAKER,
} from './admin.messages';
import { ADMIN_OPTIONS, checkAdminOptions } from './admin-option-table';

/**
 * Builds the admin API controller for one app: a fresh class per call, so two apps in one
 * process can mount it under different paths and guards. Throws when the options would
 * leave the routes unprotected without `insecure: true`, or are bad or unknown.
 *
 * Routes (JSON), under `path`: `GET breakers` (`?scope=fleet`: every instance's, with a shared store), `GET breakers/:name`,
 * `POST breakers/:name/trip` `{ reason }`, `POST breakers/:name/reset` `{ reason?, force? }`,
 * `POST breakers/:name/disable` `{ reason }`, `GET audit?breaker=&limit=`,
 * `GET dead-letters?policy=&limit=`, `GET dead-letters/:id`, `POST dead-letters/:id/replay`,
 * `DELETE dead-letters?policy=`.
 */
export function createAdminController(options: AdminOptions): Type<unknown> {
  checkAdminOptions(options);
  const path = options.path ?? (ADMIN_OPTIONS.path.default as string);
  const guards = adminGuards(options, path);

  @Controller(path)
  @SetMetadata(SKIP_BREAKER_METADATA, true)
  class ResilienceAdminController {
    private readonly actions = new Logger(LOG_CONTEXT);

    constructor(
      @Inject(BreakerRegistry) private readonly registry: BreakerRegistry,
      @Inject(DeadLetters) private readonly deadLetters: DeadLetters,
      @Optional() @Inject(BreakerStore) private readonly store?: BreakerStore,
      @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
    ) {
      const logger = new Logger('ResilienceModule');
      if (guards.length === 0) logger.warn(ADMIN_INSECURE(path));
      // The app is starting: a token given as a function (or an unset one) is read now, once.
      for (const guard of guards)
        if (guard instanceof AdminTokenGuard && !guard.load()) logger.warn(ADMIN_LOCKED(path));
    }

    /** `?scope=fleet`: every live instance's breakers, from a store shared by a fleet (redis). */
    @Get('breakers')
    async list(@Query() query: unknown): Promise<BreakerSnapshot[] | FleetView> {
      const { scope } = readQuery(query, ['scope']);
      if (scope === undefined || scope === 'instance')
        return this.registry.all().map((breaker) => breaker.snapshot());
      if (scope !== 'fleet') throw new BadRequestException(INVALID_FIELD('scope', "'instance' or 'fleet'"));
      const fleet = this.store?.fleet?.bind(this.store);
      if (fleet === undefined) throw new BadRequestException(NO_FLEET);
      return fromStore('The fleet view', fleet);
    }

    @Get('breakers/:name')
    one(@Param('name') name: string, @Query() query: unknown): BreakerSnapshot {
      readQuery(query, []);
      return this.breaker(name).snapshot();
    }

    @Post('breakers/:name/trip')
    @HttpCode(HttpStatus.OK)
    async trip(
      @Param('name') name: string,
      @Body() body: unknown,
      @Query() query: unknown,
      @AdminActor() actor: string | null,
    ): Promise<BreakerSnapshot> {
      return this.withReason(name, body, query, (breaker, reason) => breaker.trip(reason, actor));
    }

    @Post('breakers/:name/reset')
    @HttpCode(HttpStatus.OK)
    async reset(
      @Param('name') name: string,
      @Body() body: unknown,
      @Query() query: unknown,
      @AdminActor() actor: string | null,
    ): Promise<BreakerSnapshot> {
      readQuery(query, []);
      const breaker = this.breaker(name);
      const fields = readBody(body, ['reason', 'force']);
      const reason = readReason(fields, false);
      const force = readFlag(fields, 'force');
      try {
        await breaker.reset({ reason, actor, force });
      } catch (error) {
        if (isResilienceError(error, 'RESET_COOLDOWN')) throw cooldownConflict(error as ResetCooldownError);
        throw error;
      }
      return breaker.snapshot();
    }

    @Post('breakers/:name/disable')
    @HttpCode(HttpStatus.OK)
    async disable(
      @Param('name') name: string,
      @Body() body: unknown,
      @Query() query: unknown,
      @AdminActor() actor: string | null,
    ): Promise<BreakerSnapshot> {
      return this.withReason(name, body, query, (breaker, reason) => breaker.disable(reason, actor));
    }

    @Get('audit')
    async audit(@Query() query: unknown): Promise<AuditEntry[]> {
      const { breaker, limit } = readQuery(query, ['breaker', 'limit']);
      const name = readNameFilter('breaker', breaker);
      const entries = await fromStore('The audit log', () =>
        this.registry.audit(name, { limit: readLimit(limit) }),
      );
      // A breaker that is gone (an evicted per-key breaker, or one not recreated since a
      // restart) may still have history; only a name with neither is a mistake.
      if (name !== undefined && entries.length === 0 && this.registry.find(name) === undefined) {
        throw notFound(name);
      }
      return entries;
    }

    @Get('dead-letters')
    async listDeadLetters(@Query() query: unknown): Promise<DeadLetter[]> {
      const { policy, limit } = readQuery(query, ['policy', 'limit']);
      const filter = { policy: readNameFilter('policy', policy), limit: readLimit(limit) };
      return fromStore(DEAD_LETTERS, () => this.deadLetters.list(filter));
    }

    @Get('dead-letters/:id')
    async deadLetter(@Param('id') id: string, @Query() query: unknown): Promise<DeadLetter> {
      readQuery(query, []);
      return fromStore(DEAD_LETTERS, () => forAdmin(() => this.deadLetters.get(id)));
    }

    /**
     * 200 once the call succeeded (the letter is gone); 502 when it failed again (the letter
     * stays); 503 with `Retry-After` when the policy refused it before it ran (the letter stays as it was).
     */
    @Post('dead-letters/:id/replay')
    @HttpCode(HttpStatus.OK)
    async replay(
      @Param('id') id: string,
      @Query() query: unknown,
      @AdminActor() actor: string | null,
      @Res({ passthrough: true }) response: unknown,
    ): Promise<ReplaySucceededBody> {
      readQuery(query, []);
      const outcome = await fromStore(DEAD_LETTERS, () => forAdmin(() => this.deadLetters.replay(id)));
      this.actions.log(DEAD_LETTER_REPLAYED(outcome, actor));
      const retryAfter = replayRetryAfter(outcome);
      const adapter = this.adapterHost?.httpAdapter;
      if (retryAfter !== undefined && adapter !== undefined)
        adapter.setHeader(response, 'Retry-After', retryAfter);
      return replayAnswer(outcome);
    }

    @Delete('dead-letters')
    async purge(@Query() query: unknown, @AdminActor() actor: string | null): Promise<{ purged: number }> {
      const name = readNameFilter('policy', readQuery(query, ['policy']).policy);
      const purged = await fromStore(DEAD_LETTERS, () => this.deadLetters.purge(name));
      this.actions.log(DEAD_LETTERS_PURGED(purged, name, actor));
      return { purged };
    }

    /** Runs an action that requires a reason (trip, disable) and answers the breaker's snapshot. */
    private async withReason(
      name: string,
      body: unknown,
      query: unknown,
      action: (breaker: Breaker, reason: string) => Promise<void>,
    ): Promise<BreakerSnapshot> {
      readQuery(query, []);
      const breaker = this.breaker(name);
      await action(breaker, readReason(readBody(body, ['reason']), true));
      return breaker.snapshot();
    }

    /**
     * The breaker of that full name, as `GET breakers` lists it (`hosts#internal` for a
     * per-key breaker); never creates one, unlike `registry.get`.
     */
    private breaker(name: string): Breaker {
      const breaker = this.registry.find(name);
      if (breaker === undefined) throw notFound(name);
      return breaker;
    }
  }

  UseGuards(new AdminJsonBodyGuard(), ...guards)(ResilienceAdminController);
  return ResilienceAdminController;
}

const DEAD_LETTERS = 'The dead letters';

/**
 * Reads or changes what the store keeps (`what`: the audit log, the dead letters): a store that
 * fails (Redis does not answer) answers 503 naming it and why, not 500; the request's own
 * errors (an unknown id, 404) go on as they are.
 */
async function fromStore<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof HttpException || isResilienceError(error)) throw error;
    throw new ServiceUnavailableException(STORE_UNREACHABLE(what, reasonOf(error)));
  }
}

/** 404 whose body names the breaker, which tells it apart from a route that does not exist. */
function notFound(name: string): NotFoundException {
  return new NotFoundException({
    statusCode: HttpStatus.NOT_FOUND,
    error: 'Not Found',
    message: UNKNOWN_BREAKER(name),
    breaker: name,
  });
}

function cooldownConflict(error: ResetCooldownError): ConflictException {
  return new ConflictException({
    statusCode: HttpStatus.CONFLICT,
    error: 'Conflict',
    message: error.message,
    breaker: error.breaker,
    retryAfterMs: error.retryAfterMs,
  });
}
