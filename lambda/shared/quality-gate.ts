/**
 * Pure logic of the quality gate: which candidate, if any, becomes the new model. No SDK calls here, so it is
 * tested without mocks.
 *
 * Comparisons on values the gate computes (a fairness gap, the improvement over the champion, a tie between
 * candidates) allow a relative tolerance of 1e-9, so that floating-point noise does not decide them: `0.4 - 0.1` is
 * a gap of 0.3, and 0.91 does not beat 0.9 by more than 0.01. Thresholds and the latency budget compare the values
 * as given, bounds included.
 */
import { describeValue } from './metrics';
import { CandidateOutcome, Champion, GateDecision, GateRules, LINEAGE_KEYS, Rejection } from './workflow-types';

/** Step Functions puts the summary into a failure's cause; keep it well inside the cause's limit. */
export const MAX_SUMMARY_LENGTH = 4000;

const PERCENTILES = ['p50', 'p95', 'p99'] as const;
const STATUSES = ['EVALUATED', 'CACHED', 'FAILED'] as const;
const TOLERANCE = 1e-9;

export type QualityGateErrorName = 'InvalidGateRules' | 'InvalidGateInput';

/** Errors whose `name` a Step Functions `Catch` can match. */
export class QualityGateError extends Error {
  constructor(name: QualityGateErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/** The fields of the `latest-approved-model` handler's result (`ApprovedModel`) the gate reads. */
export interface ApprovedModelLike {
  readonly modelPackageArn: string;
  readonly customerMetadata?: Record<string, string>;
}

/**
 * Parses and validates the gate rules (the `GATE_RULES` environment variable); fails with `InvalidGateRules`
 * listing every problem. Absent `thresholds` and `fairness` count as `[]`.
 */
export function parseGateRules(text: string | undefined): GateRules {
  const invalid = (what: string) =>
    new QualityGateError(
      'InvalidGateRules',
      `quality-gate: the gate rules (GATE_RULES) are invalid: ${what}. They are set by the construct from its gate props; ` +
        'fix them there and deploy again.',
    );
  if (text === undefined || text.trim() === '') throw invalid('GATE_RULES is not set');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(`GATE_RULES is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw invalid(`GATE_RULES is ${describeValue(parsed)}, not a JSON object`);

  const problems: string[] = [];
  const { primaryMetric, higherIsBetter, latency, championMargin } = parsed;
  if (!isName(primaryMetric)) problems.push(`primaryMetric is ${describeValue(primaryMetric)}, not a metric name`);
  if (typeof higherIsBetter !== 'boolean') problems.push(`higherIsBetter is ${describeValue(higherIsBetter)}, not true or false`);

  const thresholds = arrayOf(parsed.thresholds, 'thresholds', problems, (t, at) => {
    if (!isName(t.metric)) problems.push(`${at}.metric is ${describeValue(t.metric)}, not a metric name`);
    for (const bound of ['min', 'max'] as const) {
      if (t[bound] !== undefined && !isFiniteNumber(t[bound])) problems.push(`${at}.${bound} is ${describeValue(t[bound])}, not a number`);
    }
    if (t.min === undefined && t.max === undefined) problems.push(`${at} has neither min nor max`);
    if (isFiniteNumber(t.min) && isFiniteNumber(t.max) && t.min > t.max) problems.push(`${at}.min ${t.min} is above its max ${t.max}`);
  });
  const fairness = arrayOf(parsed.fairness, 'fairness', problems, (f, at) => {
    if (!isName(f.metric)) problems.push(`${at}.metric is ${describeValue(f.metric)}, not a metric name`);
    if (!isFiniteNumber(f.maxGap) || f.maxGap < 0) problems.push(`${at}.maxGap is ${describeValue(f.maxGap)}, not a number >= 0`);
  });
  if (latency !== undefined) {
    if (!isObject(latency)) {
      problems.push(`latency is ${describeValue(latency)}, not an object like {"percentile": "p95", "maxMs": 100}`);
    } else {
      if (!PERCENTILES.includes(latency.percentile as never)) {
        problems.push(`latency.percentile is ${describeValue(latency.percentile)}, not one of ${PERCENTILES.join(', ')}`);
      }
      if (!isFiniteNumber(latency.maxMs) || latency.maxMs <= 0) problems.push(`latency.maxMs is ${describeValue(latency.maxMs)}, not a number > 0`);
    }
  }
  if (championMargin !== undefined && (!isFiniteNumber(championMargin) || championMargin < 0)) {
    problems.push(`championMargin is ${describeValue(championMargin)}, not a number >= 0`);
  }

  if (problems.length > 0) throw invalid(problems.join('; '));
  return {
    primaryMetric: primaryMetric as string,
    higherIsBetter: higherIsBetter as boolean,
    thresholds: thresholds as unknown as GateRules['thresholds'],
    fairness: fairness as unknown as GateRules['fairness'],
    ...(latency !== undefined ? { latency: latency as unknown as GateRules['latency'] } : {}),
    ...(championMargin !== undefined ? { championMargin: championMargin as number } : {}),
  };
}

/**
 * Validates the event of the `quality-gate` handler; fails with `InvalidGateInput` listing every problem. The
 * outcomes must be a non-empty array of candidates with distinct names, a known status, and numbers as metrics.
 */
export function parseGateInput(event: unknown): { outcomes: CandidateOutcome[]; champion?: Champion } {
  const problems: string[] = [];
  const e = isObject(event) ? event : {};
  if (!isObject(event)) problems.push(`the event is ${describeValue(event)}, not an object`);

  const seen = new Set<string>();
  const outcomes = arrayOf(e.outcomes, 'outcomes', problems, (o, at) => {
    if (!isName(o.candidate)) problems.push(`${at}.candidate is ${describeValue(o.candidate)}, not a candidate name`);
    else if (seen.has(o.candidate)) problems.push(`${at}.candidate '${o.candidate}' appears twice`);
    else seen.add(o.candidate);
    if (!STATUSES.includes(o.status as never)) problems.push(`${at}.status is ${describeValue(o.status)}, not one of ${STATUSES.join(', ')}`);
    numbers(o.metrics, `${at}.metrics`, problems);
    if (o.slices !== undefined) {
      if (!isObject(o.slices)) problems.push(`${at}.slices is ${describeValue(o.slices)}, not an object`);
      else for (const [name, slice] of Object.entries(o.slices)) numbers(slice, `${at}.slices[${JSON.stringify(name)}]`, problems);
    }
    numbers(o.latencyMs, `${at}.latencyMs`, problems);
    if (o.failure !== undefined && typeof o.failure !== 'string') problems.push(`${at}.failure is ${describeValue(o.failure)}, not a string`);
  });
  if (Array.isArray(e.outcomes) && e.outcomes.length === 0) problems.push('outcomes is empty: there is no candidate to judge');
  if (e.outcomes === undefined) problems.push('outcomes is missing');

  let champion: Champion | undefined;
  const approved = e.champion;
  if (approved !== undefined && approved !== null) {
    if (!isObject(approved) || !isName(approved.modelPackageArn)) {
      problems.push(`champion is ${describeValue(approved)} without a modelPackageArn, not the result of latest-approved-model or null`);
    } else if (approved.customerMetadata !== undefined && !isObject(approved.customerMetadata)) {
      problems.push(`champion.customerMetadata is ${describeValue(approved.customerMetadata)}, not an object`);
    } else {
      champion = championOf(approved as unknown as ApprovedModelLike);
    }
  }

  if (problems.length > 0) {
    throw new QualityGateError(
      'InvalidGateInput',
      `quality-gate: ${problems.join('; ')}. Pass { "outcomes": [<one CandidateOutcome per candidate>], ` +
        '"champion": <the result of latest-approved-model, or null> }.',
    );
  }
  return { outcomes: outcomes as unknown as CandidateOutcome[], ...(champion ? { champion } : {}) };
}

/**
 * The champion as the gate sees it: the ARN, and the metrics of the customer metadata (keys `mlops:metric:<name>`
 * whose values are decimal numbers; others are ignored).
 */
export function championOf(approved: ApprovedModelLike): Champion {
  const metrics: Array<[string, number]> = [];
  for (const [key, value] of Object.entries(approved.customerMetadata ?? {})) {
    if (!key.startsWith(LINEAGE_KEYS.metricPrefix) || typeof value !== 'string') continue;
    const text = value.trim();
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) continue;
    const number = Number(text);
    if (Number.isFinite(number)) metrics.push([key.slice(LINEAGE_KEYS.metricPrefix.length), number]);
  }
  return { modelPackageArn: approved.modelPackageArn, metrics: Object.fromEntries(metrics) };
}

/**
 * Judges the candidates. FAILED outcomes are rejected with their failure. EVALUATED and CACHED outcomes are
 * checked against every rule, and every failed rule is a reason: the primary metric must exist; each threshold
 * holds (a missing metric fails it); each fairness rule's gap (max - min of the metric over the slices that have
 * it, at least 2) is at most maxGap; the latency percentile is within the budget (a missing one fails it); and,
 * when `championMargin` is set and the champion has the primary metric, the candidate beats the champion by more
 * than the margin. The passing candidate with the best primary metric wins, ties going to the first name in code
 * unit order; the other passing candidates are rejected as having lost to it. Rejections follow the outcomes'
 * order.
 */
export function evaluateGate(outcomes: readonly CandidateOutcome[], rules: GateRules, champion?: Champion): GateDecision {
  const primary = rules.primaryMetric;
  const championValue = champion ? valueOf(champion.metrics, primary) : undefined;
  const compareWithChampion = rules.championMargin !== undefined && champion !== undefined && championValue !== undefined;

  const reasons: string[][] = outcomes.map((outcome) =>
    outcome.status === 'FAILED'
      ? [outcome.failure || 'failed, and gave no reason']
      : ruleFailures(outcome, rules, compareWithChampion ? champion : undefined),
  );
  const passing = outcomes.filter((_, i) => reasons[i].length === 0);

  // Sorted by name first, so that the winner does not depend on the order of the outcomes.
  const byName = [...passing].sort((a, b) => (a.candidate < b.candidate ? -1 : a.candidate > b.candidate ? 1 : 0));
  let winner: CandidateOutcome | undefined;
  let best: number | undefined;
  for (const candidate of byName) {
    // A passing candidate has the primary metric.
    const value = valueOf(candidate.metrics, primary)!;
    if (best === undefined || better(value, best, rules.higherIsBetter)) {
      winner = candidate;
      best = value;
    }
  }
  if (winner !== undefined && best !== undefined) {
    outcomes.forEach((loser, i) => {
      if (loser === winner || reasons[i].length > 0) return;
      const value = valueOf(loser.metrics, primary)!;
      const tie = !better(best!, value, rules.higherIsBetter);
      reasons[i].push(`lost to ${winner!.candidate} on ${primary} (${fmt(value)} vs ${fmt(best)})${tie ? '; tie broken by candidate name' : ''}`);
    });
  }

  const rejections: Rejection[] = outcomes
    .map((o, i) => ({ outcome: o, reasons: reasons[i] }))
    .filter(({ outcome }) => outcome !== winner)
    .map(({ outcome, reasons: why }) => ({ candidate: outcome.candidate, reasons: why }));

  let championNote = '';
  if (rules.championMargin !== undefined) {
    if (champion === undefined) championNote = 'no champion yet';
    else if (championValue === undefined) championNote = `champion ${champion.modelPackageArn} has no ${primary} metric: not compared`;
    else championNote = `champion ${fmt(championValue)}`;
  }
  const summary = winner !== undefined
    ? capSummary(`${winner.candidate}${winner.status === 'CACHED' ? ' (cached)' : ''} wins with ${primary} ${fmt(best!)}` +
      `${championNote ? ` (${championNote})` : ''}; ${rejections.length} rejected`, [])
    : capSummary(`no candidate passed${championNote ? ` (${championNote})` : ''}: `,
      rejections.map((r) => `${r.candidate}: ${r.reasons.join(', ')}`));

  return {
    ...(winner !== undefined ? { winner } : {}),
    rejections,
    ...(champion !== undefined ? { champion } : {}),
    summary,
  };
}

/** Every rule the outcome fails, as reasons; empty when it passes. */
function ruleFailures(outcome: CandidateOutcome, rules: GateRules, champion: Champion | undefined): string[] {
  const reasons: string[] = [];
  const metrics = outcome.metrics ?? {};
  const primary = rules.primaryMetric;
  const value = valueOf(metrics, primary);
  if (value === undefined) reasons.push(`no ${primary} metric (the primary metric)`);

  for (const t of rules.thresholds) {
    const v = valueOf(metrics, t.metric);
    if (v === undefined) reasons.push(`no ${t.metric} metric (threshold ${bounds(t.min, t.max)})`);
    else if (t.min !== undefined && v < t.min) reasons.push(`${t.metric} ${fmt(v)} below min ${fmt(t.min)}`);
    else if (t.max !== undefined && v > t.max) reasons.push(`${t.metric} ${fmt(v)} above max ${fmt(t.max)}`);
  }

  for (const f of rules.fairness) {
    const values = Object.entries(outcome.slices ?? {})
      .map(([name, slice]) => ({ name, value: valueOf(slice, f.metric) }))
      .filter((s): s is { name: string; value: number } => s.value !== undefined);
    if (values.length < 2) {
      reasons.push(`cannot check fairness of ${f.metric}: ${values.length} slice${values.length === 1 ? ' has' : 's have'} it, 2 needed`);
      continue;
    }
    const low = values.reduce((a, b) => (b.value < a.value ? b : a));
    const high = values.reduce((a, b) => (b.value > a.value ? b : a));
    const gap = high.value - low.value;
    if (exceeds(gap, f.maxGap, Math.max(Math.abs(high.value), Math.abs(low.value)))) {
      reasons.push(
        `${f.metric} gap ${fmt(gap)} between slices ${high.name} (${fmt(high.value)}) and ${low.name} (${fmt(low.value)}) above max ${fmt(f.maxGap)}`,
      );
    }
  }

  if (rules.latency !== undefined) {
    const { percentile, maxMs } = rules.latency;
    const latency = valueOf(outcome.latencyMs, percentile);
    if (latency === undefined) reasons.push(`no ${percentile} latency (budget ${fmt(maxMs)} ms)`);
    else if (latency > maxMs) reasons.push(`${percentile} latency ${fmt(latency)} ms above budget ${fmt(maxMs)} ms`);
  }

  if (champion !== undefined && value !== undefined) {
    const margin = rules.championMargin ?? 0;
    const championValue = valueOf(champion.metrics, primary)!;
    const improvement = rules.higherIsBetter ? value - championValue : championValue - value;
    if (!exceeds(improvement, margin, Math.max(Math.abs(value), Math.abs(championValue)))) {
      reasons.push(
        `${primary} ${fmt(value)} does not beat the champion's ${fmt(championValue)} by more than ${fmt(margin)} (${champion.modelPackageArn})`,
      );
    }
  }
  return reasons;
}

/** A record's own value: a metric named `constructor` is not Object's constructor. */
function valueOf(record: object | undefined, name: string): number | undefined {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, name) ? (record as Record<string, number>)[name] : undefined;
}

/** Whether `a` is better than `b` by more than the tolerance. */
function better(a: number, b: number, higherIsBetter: boolean): boolean {
  return exceeds(higherIsBetter ? a - b : b - a, 0, Math.max(Math.abs(a), Math.abs(b)));
}

/** Whether `value` (a difference) is above `limit` by more than the tolerance relative to `scale`. */
function exceeds(value: number, limit: number, scale: number = Math.abs(value)): boolean {
  return value - limit > TOLERANCE * Math.max(1, scale, Math.abs(limit));
}

function bounds(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `${fmt(min)} to ${fmt(max)}`;
  return min !== undefined ? `min ${fmt(min)}` : `max ${fmt(max!)}`;
}

/** A number for people: 12 significant digits, so that 0.30000000000000004 reads 0.3. */
export function fmt(n: number): string {
  return String(Number(n.toPrecision(12)));
}

/**
 * One line of at most MAX_SUMMARY_LENGTH characters: the head, then as many whole rejections as fit, then how many
 * were left out. A rejection is never cut in the middle (only one longer than the whole budget is shortened).
 */
function capSummary(head: string, parts: readonly string[]): string {
  const line = (text: string) => text.replace(/\s*[\r\n]+\s*/g, ' ');
  const more = (n: number) => ` (${n} more rejected; every reason is in the decision's rejections)`;
  let summary = line(head);
  for (let i = 0; i < parts.length; i++) {
    const part = `${i > 0 ? '; ' : ''}${line(parts[i])}`;
    const rest = parts.length - i - 1;
    if (summary.length + part.length + (rest > 0 ? more(rest).length : 0) <= MAX_SUMMARY_LENGTH) {
      summary += part;
      continue;
    }
    const tail = more(parts.length - i);
    if (i === 0) {
      const room = MAX_SUMMARY_LENGTH - summary.length - more(parts.length - 1).length - 3;
      summary += `${part.slice(0, Math.max(0, room))}...`;
      return parts.length > 1 ? summary + more(parts.length - 1) : summary;
    }
    return summary + tail;
  }
  return summary.length <= MAX_SUMMARY_LENGTH ? summary : `${summary.slice(0, MAX_SUMMARY_LENGTH - 3)}...`;
}

/** Checks each element of an optional array (absent: []) with `check`, which pushes the problems it finds. */
function arrayOf(
  value: unknown,
  where: string,
  problems: string[],
  check: (element: Record<string, unknown>, at: string) => void,
): Array<Record<string, unknown>> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where} is ${describeValue(value)}, not an array`);
    return [];
  }
  value.forEach((element, i) => {
    if (isObject(element)) check(element, `${where}[${i}]`);
    else problems.push(`${where}[${i}] is ${describeValue(element)}, not an object`);
  });
  return value as Array<Record<string, unknown>>;
}

/** Checks that an optional value is an object of finite numbers. */
function numbers(value: unknown, where: string, problems: string[]): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    problems.push(`${where} is ${describeValue(value)}, not an object of numbers`);
    return;
  }
  for (const [name, v] of Object.entries(value)) {
    if (!isFiniteNumber(v)) problems.push(`${where}[${JSON.stringify(name)}] is ${describeValue(v)}, not a number`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
