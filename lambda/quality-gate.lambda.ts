/**
 * The quality gate: judges the candidates of one training run against the gate rules and the champion, and picks
 * the winner. Pure: no AWS calls.
 *
 * Event: `{ "outcomes": [<CandidateOutcome>, ...], "champion": <the latest-approved-model result, or null> }`. The
 * rules are the `GATE_RULES` environment variable, JSON of `GateRules`. Returns the `GateDecision`, also when no
 * candidate passed (no `winner` then): the state machine decides what that means. Same input, same decision.
 *
 * Fails only on a broken configuration or input, with `InvalidGateRules` or `InvalidGateInput` (error names a Step
 * Functions `Catch` can match).
 */
import { ApprovedModelLike, evaluateGate, parseGateInput, parseGateRules } from './shared/quality-gate';
import { CandidateOutcome, GateDecision } from './shared/workflow-types';

export interface QualityGateEvent {
  readonly outcomes: CandidateOutcome[];
  /** The result of the `latest-approved-model` handler; null or absent when there is no approved model yet. */
  readonly champion?: ApprovedModelLike | null;
}

export async function handler(event: QualityGateEvent): Promise<GateDecision> {
  return qualityGate(event, process.env.GATE_RULES);
}

/** The handler's logic, with the rules given as the JSON text of `GATE_RULES`. */
export function qualityGate(event: QualityGateEvent, gateRules: string | undefined): GateDecision {
  const rules = parseGateRules(gateRules);
  const { outcomes, champion } = parseGateInput(event);
  return evaluateGate(outcomes, rules, champion);
}
