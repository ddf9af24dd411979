// Shapes of /api/v1/query and /api/v1/query_range results.

import type { Labels } from "../../lib/api";

export type SamplePair = [number, string];

export interface Histogram {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

export interface InstantSample {
  metric: Labels;
  value?: SamplePair;
  histogram?: [number, Histogram];
}

export interface RangeSeries {
  metric: Labels;
  values?: SamplePair[];
  histograms?: [number, Histogram][];
}

export type QueryResult =
  | { resultType: "vector"; result: InstantSample[] }
  | { resultType: "matrix"; result: RangeSeries[] }
  | { resultType: "scalar"; result: SamplePair }
  | { resultType: "string"; result: SamplePair };

export interface QueryStats {
  timings?: {
    evalTotalTime?: number;
    resultSortTime?: number;
    queryPreparationTime?: number;
    innerEvalTime?: number;
    execQueueTime?: number;
    execTotalTime?: number;
  };
  samples?: {
    totalQueryableSamples?: number;
    peakSamples?: number;
  };
}

export type QueryData = QueryResult & { stats?: QueryStats };
