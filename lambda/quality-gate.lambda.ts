/**
 * The quality gate: judges the candidates of one training run against the gate rules and the champion, and picks
 * the winner. The judgement is pure; the function also publishes the run's training metrics (see below).
 *
 * Event: `{ "outcomes": [<CandidateOutcome>, ...], "champion": <the latest-approved-model result, or null> }`. The
 * rules are the `GATE_RULES` environment variable, JSON of `GateRules`. Returns the `GateDecision`, also when no
 * candidate passed (no `winner` then): the state machine decides what that means. Same input, same decision.
 *
 * With `METRICS_WORKFLOW` set, it then publishes the run's counts to the `cdk-mlops/Training` namespace (dimension
 * `Workflow`): candidates trained on spot, trained on demand, cache hits, failed, evaluations that fell back to
 * on-demand, and the GPU hours of the training on each queue (from each outcome's `trainingTime`: the attempts' start
 * and stop times the state machine kept of the Batch job descriptions, times the job's GPUs). A failed publication is
 * logged and does not fail the gate: the metrics describe the run, they do not decide it.
 *
 * Fails only on a broken configuration or input, with `InvalidGateRules` or `InvalidGateInput` (error names a Step
 * Functions `Catch` can match).
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { publish } from './shared/cloudwatch-metrics';
import { ApprovedModelLike, evaluateGate, parseGateInput, parseGateRules } from './shared/quality-gate';
import { sdkClientConfig } from './shared/sdk-clients';
import { trainingCounts, trainingMetricData } from './shared/training-metrics';
import { CandidateOutcome, GATE_ENV, GateDecision, TRAINING_NAMESPACE } from './shared/workflow-types';

export interface QualityGateEvent {
  readonly outcomes: CandidateOutcome[];
  /** The result of the `latest-approved-model` handler; null or absent when there is no approved model yet. */
  readonly champion?: ApprovedModelLike | null;
}

const cloudwatch = new CloudWatchClient(sdkClientConfig());

export async function handler(event: QualityGateEvent): Promise<GateDecision> {
  const decision = qualityGate(event, process.env[GATE_ENV.rules]);
  const workflow = process.env[GATE_ENV.metricsWorkflow];
  if (workflow) await publishTrainingMetrics(cloudwatch, workflow, event.outcomes, new Date());
  return decision;
}

/** The handler's logic, with the rules given as the JSON text of `GATE_RULES`. */
export function qualityGate(event: QualityGateEvent, gateRules: string | undefined): GateDecision {
  const rules = parseGateRules(gateRules);
  const { outcomes, champion } = parseGateInput(event);
  return evaluateGate(outcomes, rules, champion);
}

/** Publishes the counts of one run (the outcomes the gate judged); returns whether CloudWatch accepted them. */
export async function publishTrainingMetrics(
  client: CloudWatchClient,
  workflow: string,
  outcomes: readonly CandidateOutcome[],
  now: Date,
): Promise<boolean> {
  const counts = trainingCounts(outcomes);
  try {
    await publish(client, trainingMetricData(workflow, counts, now), TRAINING_NAMESPACE);
    return true;
  } catch (error) {
    // After the SDK's retries: the run goes on without its data points; the log keeps the counts.
    console.log(JSON.stringify({ message: 'quality-gate: the training metrics were not published', error: String(error), workflow, counts }));
    return false;
  }
}
