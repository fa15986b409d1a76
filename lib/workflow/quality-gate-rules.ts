import { Duration } from 'aws-cdk-lib';

/** A bound on one evaluation metric. */
export interface MetricThreshold {
  /** The metric's name in `metrics.json`. */
  readonly metric: string;
  /**
   * The lowest acceptable value.
   * @default - no lower bound
   */
  readonly min?: number;
  /**
   * The highest acceptable value.
   * @default - no upper bound
   */
  readonly max?: number;
}

/** A fairness rule: the gap of a metric between the best and the worst slice of the evaluation data. */
export interface FairnessRule {
  /** The metric's name in the slices of `metrics.json`. */
  readonly metric: string;
  /** The largest acceptable gap (max - min over the slices), in the metric's units. */
  readonly maxGap: number;
}

/** Latency percentiles an evaluation reports. */
export enum LatencyPercentile {
  P50 = 'p50',
  P95 = 'p95',
  P99 = 'p99',
}

/** The latency budget: the evaluation's measured inference latency. */
export interface LatencyBudget {
  /**
   * Which percentile is bounded.
   * @default LatencyPercentile.P99
   */
  readonly percentile?: LatencyPercentile;
  /** The largest acceptable latency at that percentile. */
  readonly max: Duration;
}

/**
 * The quality gate's rules, as data: a candidate wins only if it passes all of them, and the best passing
 * candidate (by the primary metric) wins.
 */
export interface QualityGateRules {
  /** The metric that ranks candidates and is compared with the champion, for example `auc`. */
  readonly primaryMetric: string;
  /**
   * Whether a higher primary metric is better (accuracy, AUC) or a lower one (loss, error).
   * @default true
   */
  readonly higherIsBetter?: boolean;
  /**
   * Bounds on metrics.
   * @default - none
   */
  readonly thresholds?: MetricThreshold[];
  /**
   * Largest gaps of metrics between slices.
   * @default - none
   */
  readonly fairness?: FairnessRule[];
  /**
   * The latency budget.
   * @default - no latency rule
   */
  readonly latency?: LatencyBudget;
  /**
   * Champion / challenger: how much better than the model in production (the newest Approved model package)
   * the primary metric must be, in the metric's units. 0 means "strictly better".
   * @default 0
   */
  readonly championMargin?: number;
  /**
   * Compare with the champion at all. Turn off only for the first models of a new group.
   * @default true
   */
  readonly compareWithChampion?: boolean;
}
