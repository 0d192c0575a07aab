import { Injectable } from '@nestjs/common';

/** How the simulated downstream behaves: answers, fails with 500, or answers too late. */
export type DownstreamMode = 'ok' | 'fail' | 'slow';

export const DOWNSTREAM_MODES: readonly DownstreamMode[] = ['ok', 'fail', 'slow'];

/** The simulated downstream's current behaviour, switched over HTTP. */
@Injectable()
export class DownstreamModeState {
  mode: DownstreamMode = 'ok';
}
