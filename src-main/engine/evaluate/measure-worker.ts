/** A worker thread of the quality report (run.ts): the identity descriptors and frame measurements of measure.ts. */
import { serve } from '../util/worker-rpc';
import { Measurer, type FrameMeasure, type IdentityMeans, type MeasureRange, type MeasureSetup } from './measure';

export type MeasureWorkerApi = {
  init(s: MeasureSetup): Promise<void>;
  describe(files: string[]): Promise<Array<number[] | null>>;
  identities(means: IdentityMeans): Promise<void>;
  measure(r: MeasureRange): Promise<FrameMeasure[]>;
};
export interface MeasureWorkerEvents {
  [name: string]: unknown;
  frame: null;
}

const { emit } = serve<MeasureWorkerApi, MeasureWorkerEvents>(
  (() => {
    const m = new Measurer(() => emit('frame', null));
    return {
      init: (s) => m.init(s),
      describe: (files) => m.describe(files),
      identities: (means) => m.identities(means),
      measure: (r) => m.measure(r),
    } satisfies MeasureWorkerApi;
  })(),
);
