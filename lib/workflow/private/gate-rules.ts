import { Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { GateRules } from '../../private/contract/workflow';
import { isConcrete, MlOpsValidationError } from '../../private/validation';
import { LatencyPercentile, QualityGateRules } from '../quality-gate-rules';

const METRIC_NAME = /^[A-Za-z0-9_.:\/-]{1,100}$/;

/** Checks the rules at synth and renders them as the JSON the gate function reads (GATE_RULES). */
export function renderGateRules(scope: Construct, rules: QualityGateRules): string {
  const fail = (prop: string, value: unknown, fix: string) => {
    throw new MlOpsValidationError(scope, 'TrainingWorkflow', `gate.${prop}`, value, fix);
  };
  const metricName = (prop: string, name: string) => {
    if (isConcrete(name) && !METRIC_NAME.test(name)) fail(prop, name, 'Use the metric\'s name as metrics.json spells it: 1-100 letters, digits, _ . : / -.');
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
