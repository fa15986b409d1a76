/**
 * The training workflow's metrics of one execution, counted from the candidates' outcomes the quality gate receives:
 * how many trained on spot, fell back to on-demand, came from the training cache, failed, how many evaluations fell
 * back to on-demand, and the GPU hours the training used on each queue. No SDK calls here.
 */
import type { MetricDatum, StandardUnit } from '@aws-sdk/client-cloudwatch';
import {
  AttemptTimes,
  CandidateOutcome,
  ON_DEMAND_EVALUATION_STAGE,
  ON_DEMAND_TRAINING_STAGE,
  TRAINING_DIMENSIONS,
  TRAINING_METRICS,
} from './workflow-types';

export interface TrainingCounts {
  readonly candidates: number;
  readonly trainedOnSpot: number;
  readonly trainedOnDemand: number;
  readonly evaluationsOnDemand: number;
  readonly cacheHits: number;
  readonly failed: number;
  readonly gpuHoursOnSpot: number;
  readonly gpuHoursOnDemand: number;
}

const UNITS: Record<keyof typeof TRAINING_METRICS, StandardUnit> = {
  candidates: 'Count',
  trainedOnSpot: 'Count',
  trainedOnDemand: 'Count',
  evaluationsOnDemand: 'Count',
  cacheHits: 'Count',
  failed: 'Count',
  gpuHoursOnSpot: 'None',
  gpuHoursOnDemand: 'None',
};

const MS_PER_HOUR = 3_600_000;

/**
 * The counts of one execution. A candidate trained on demand counts there whether it then won, lost or failed in
 * evaluation; one whose on-demand training failed counts as on demand and failed. Evaluation fallbacks are counted
 * apart, so a candidate trained on spot and evaluated on demand is a spot training and an on-demand evaluation.
 */
export function trainingCounts(outcomes: readonly CandidateOutcome[]): TrainingCounts {
  let trainedOnSpot = 0;
  let trainedOnDemand = 0;
  let evaluationsOnDemand = 0;
  let cacheHits = 0;
  let failed = 0;
  let spotHours = 0;
  let onDemandHours = 0;
  for (const o of outcomes) {
    if (o.status === 'CACHED') {
      // Trained by an earlier run: nothing trained now, whatever the record says.
      cacheHits++;
      continue;
    }
    const stage = o.failureDetail?.stage;
    if (o.status === 'FAILED') failed++;
    if (o.trainedOnDemand === true || (o.status === 'FAILED' && stage === ON_DEMAND_TRAINING_STAGE)) trainedOnDemand++;
    else if (o.trainedOnDemand === false) trainedOnSpot++;
    if (o.evaluatedOnDemand === true || (o.status === 'FAILED' && stage === ON_DEMAND_EVALUATION_STAGE)) evaluationsOnDemand++;
    const gpus = Number(o.trainingTime?.gpus ?? 0);
    if (gpus > 0) {
      spotHours += gpus * runningMs(o.trainingTime?.attempts.spot) / MS_PER_HOUR;
      onDemandHours += gpus * runningMs(o.trainingTime?.attempts.onDemand) / MS_PER_HOUR;
    }
  }
  return {
    candidates: outcomes.length,
    trainedOnSpot,
    trainedOnDemand,
    evaluationsOnDemand,
    cacheHits,
    failed,
    gpuHoursOnSpot: round(spotHours),
    gpuHoursOnDemand: round(onDemandHours),
  };
}

/** The running time of a job's attempts, in milliseconds; a pair that is not two ordered numbers counts nothing. */
export function runningMs(times: AttemptTimes | undefined): number {
  if (!times || !Array.isArray(times.startedAt) || !Array.isArray(times.stoppedAt)) return 0;
  let total = 0;
  const pairs = Math.min(times.startedAt.length, times.stoppedAt.length);
  for (let i = 0; i < pairs; i++) {
    const started = Number(times.startedAt[i]);
    const stopped = Number(times.stoppedAt[i]);
    if (Number.isFinite(started) && Number.isFinite(stopped) && stopped > started) total += stopped - started;
  }
  return total;
}

/** Six decimals (3.6 ms of one GPU): enough for a graph, and no binary fractions like 0.30000000000000004. */
function round(hours: number): number {
  return Math.round(hours * 1e6) / 1e6;
}

/** One data point per metric, zeros included (a graph of sums then shows "none" rather than a gap). */
export function trainingMetricData(workflow: string, counts: TrainingCounts, timestamp: Date): MetricDatum[] {
  return (Object.keys(TRAINING_METRICS) as Array<keyof typeof TRAINING_METRICS>).map((name) => ({
    MetricName: TRAINING_METRICS[name],
    Value: counts[name],
    Unit: UNITS[name],
    Timestamp: timestamp,
    Dimensions: [{ Name: TRAINING_DIMENSIONS.workflow, Value: workflow }],
  }));
}
