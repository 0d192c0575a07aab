import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  HttpStatus,
  InternalServerErrorException,
  Param,
  Post,
} from '@nestjs/common';
import { setTimeout as delay } from 'node:timers/promises';
import { SampleConfig } from '../sample-config';
import { DOWNSTREAM_MODES, DownstreamModeState, type DownstreamMode } from './downstream-mode';
import type { Quote } from './quote';

/**
 * A simulated flaky downstream API, served by the sample app itself so that the walkthrough
 * needs nothing else running. Its behaviour is switched with `POST /downstream/mode`.
 */
@Controller('downstream')
export class DownstreamController {
  constructor(
    private readonly state: DownstreamModeState,
    private readonly config: SampleConfig,
  ) {}

  @Get('quote/:id')
  async quote(@Param('id') id: string): Promise<Quote> {
    if (this.state.mode === 'fail') throw new InternalServerErrorException('The downstream is failing');
    if (this.state.mode === 'slow') {
      // Twice the client's timeout, so every call times out. Unreferenced: a pending slow
      // answer never keeps the process alive at shutdown.
      await delay(this.config.timeoutMs * 2, undefined, { ref: false });
    }
    return { id, price: priceOf(id), currency: 'EUR', asOf: new Date().toISOString() };
  }

  @Get('mode')
  mode(): { mode: DownstreamMode } {
    return { mode: this.state.mode };
  }

  @Post('mode')
  @HttpCode(HttpStatus.OK)
  setMode(@Body() body: { mode?: unknown } | undefined): { mode: DownstreamMode } {
    const mode = body?.mode;
    if (!isMode(mode)) {
      throw new BadRequestException(`mode must be one of ${DOWNSTREAM_MODES.join(', ')}`);
    }
    this.state.mode = mode;
    return { mode };
  }
}

function isMode(value: unknown): value is DownstreamMode {
  return DOWNSTREAM_MODES.includes(value as DownstreamMode);
}

/** A stable price per id, so that a stale quote and a fresh one can be compared. */
function priceOf(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) % 100_000;
  return (1_000 + hash) / 100;
}
