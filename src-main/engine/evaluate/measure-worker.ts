/** A worker thread of the quality report (run.ts): the frame measurements of measure.ts behind worker-rpc. */
import { serve } from '../util/worker-rpc';
import { Measurer, type FrameMeasure, type MeasureRange, type MeasureSetup } from './measure';

export type MeasureWorkerApi = {
  init(s: MeasureSetup): Promise<void>;
  measure(r: MeasureRange): Promise<FrameMeasure[]>;
};
export interface MeasureWorkerEvents {
  [name: string]: unknown;
  frame: null;
}

const { emit } = serve<MeasureWorkerApi, MeasureWorkerEvents>(
  (() => {
    const m = new Measurer(() => emit('frame', null));
    return { init: (s) => m.init(s), measure: (r) => m.measure(r) } satisfies MeasureWorkerApi;
  })(),
);
