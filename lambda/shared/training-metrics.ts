/**
 * The training workflow's metrics of one execution, counted from the candidates' outcomes the quality gate receives:
 * how many trained on spot, fell back to on-demand, came from the training cache, failed. No SDK calls here.
 */
import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import {
  CandidateOutcome,
  ON_DEMAND_TRAINING_STAGE,
  TRAINING_DIMENSIONS,
  TRAINING_METRICS,
} from './workflow-types';

export interface TrainingCounts {
  readonly candidates: number;
  readonly trainedOnSpot: number;
  readonly trainedOnDemand: number;
  readonly cacheHits: number;
  readonly failed: number;
}

/**
 * The counts of one execution. A candidate trained on demand counts there whether it then won, lost or failed in
 * evaluation; one whose on-demand training failed counts as on demand and failed.
 */
export function trainingCounts(outcomes: readonly CandidateOutcome[]): TrainingCounts {
  let trainedOnSpot = 0;
  let trainedOnDemand = 0;
  let cacheHits = 0;
  let failed = 0;
  for (const o of outcomes) {
    if (o.status === 'CACHED') {
      // Trained by an earlier run: nothing trained now.
      cacheHits++;
      continue;
    }
    if (o.status === 'FAILED') failed++;
    if (o.trainedOnDemand === true || (o.status === 'FAILED' && o.failureDetail?.stage === ON_DEMAND_TRAINING_STAGE)) trainedOnDemand++;
    else if (o.trainedOnDemand === false) trainedOnSpot++;
  }
  return { candidates: outcomes.length, trainedOnSpot, trainedOnDemand, cacheHits, failed };
}

/** One Count data point per metric, zeros included (a graph of sums then shows "none" rather than a gap). */
export function trainingMetricData(workflow: string, counts: TrainingCounts, timestamp: Date): MetricDatum[] {
  return (Object.keys(TRAINING_METRICS) as Array<keyof typeof TRAINING_METRICS>).map((name) => ({
    MetricName: TRAINING_METRICS[name],
    Value: counts[name],
    Unit: 'Count',
    Timestamp: timestamp,
    Dimensions: [{ Name: TRAINING_DIMENSIONS.workflow, Value: workflow }],
  }));
}
