import { Duration, Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { GateRules } from '../private/contract/workflow';
import { isConcrete, MlOpsValidationError } from '../private/validation';

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

const METRIC_NAME = /^[A-Za-z0-9_.:\/-]{1,100}$/;

/** Checks the rules at synth and renders them as the JSON the gate function reads (GATE_RULES). */
export function renderGateRules(scope: Construct, rules: QualityGateRules): string {
  const fail = (prop: string, value: unknown, fix: string) => {
    throw new MlOpsValidationError(scope, 'TrainingWorkflow', `gate.${prop}`, value, fix);
  };
  const metricName = (prop: string, name: string) => {
    if (!METRIC_NAME.test(name)) fail(prop, name, 'Use the metric\'s name as metrics.json spells it: 1-100 letters, digits, _ . : / -.');
  };
  const finite = (prop: string, value: number | undefined) => {
    if (value !== undefined && isConcrete(value) && !Number.isFinite(value)) fail(prop, value, 'Give a finite number.');
  };

  metricName('primaryMetric', rules.primaryMetric);
  (rules.thresholds ?? []).forEach((t, i) => {
    metricName(`thresholds[${i}].metric`, t.metric);
    finite(`thresholds[${i}].min`, t.min);
    finite(`thresholds[${i}].max`, t.max);
    if (t.min === undefined && t.max === undefined) fail(`thresholds[${i}]`, t.metric, 'Give min, max or both.');
    if (isConcrete(t.min) && isConcrete(t.max) && t.min > t.max) {
      fail(`thresholds[${i}]`, `min ${t.min} > max ${t.max}`, 'No value could pass: make min at most max.');
    }
  });
  (rules.fairness ?? []).forEach((f, i) => {
    metricName(`fairness[${i}].metric`, f.metric);
    finite(`fairness[${i}].maxGap`, f.maxGap);
    if (isConcrete(f.maxGap) && f.maxGap < 0) fail(`fairness[${i}].maxGap`, f.maxGap, 'A gap is never negative: give 0 or more.');
  });
  let latency: GateRules['latency'];
  if (rules.latency) {
    const ms = rules.latency.max.toMilliseconds();
    if (!Token.isUnresolved(ms) && ms <= 0) fail('latency.max', rules.latency.max.toHumanString(), 'Give a positive budget, e.g. Duration.millis(100).');
    latency = { percentile: rules.latency.percentile ?? LatencyPercentile.P99, maxMs: ms };
  }
  const margin = rules.championMargin ?? 0;
  finite('championMargin', margin);
  if (isConcrete(margin) && margin < 0) {
    fail('championMargin', margin, 'A negative margin would let a worse model replace the champion: give 0 or more.');
  }

  // Typed as the contract the gate function reads: a field renamed on either side fails to compile.
  const rendered: GateRules = {
    primaryMetric: rules.primaryMetric,
    higherIsBetter: rules.higherIsBetter ?? true,
    thresholds: rules.thresholds ?? [],
    fairness: rules.fairness ?? [],
    ...(latency ? { latency } : {}),
    ...((rules.compareWithChampion ?? true) ? { championMargin: margin } : {}),
  };
  // toJsonString, not JSON.stringify: a token (a CfnParameter, say) resolves at deploy time inside the JSON.
  return Stack.of(scope).toJsonString(rendered);
}
