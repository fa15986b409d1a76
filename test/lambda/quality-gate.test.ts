import { handler, QualityGateEvent, qualityGate } from '../../lambda/quality-gate.lambda';
import { CandidateOutcome, GateRules, LINEAGE_KEYS } from '../../lambda/shared/workflow-types';

const CHAMPION_ARN = 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7';

const RULES: GateRules = {
  primaryMetric: 'auc',
  higherIsBetter: true,
  thresholds: [{ metric: 'auc', min: 0.8 }],
  fairness: [],
  championMargin: 0.01,
};

/** The result of the latest-approved-model handler, as the state machine passes it on. */
const APPROVED = {
  modelPackageGroupName: 'fraud',
  modelPackageArn: CHAMPION_ARN,
  modelPackageVersion: 7,
  modelDataUrl: 's3://models/7/model.tar.gz',
  creationTime: '2026-05-01T10:00:00.000Z',
  customerMetadata: { [`${LINEAGE_KEYS.metricPrefix}auc`]: '0.9', [LINEAGE_KEYS.candidate]: 'lr' },
};

function evaluated(candidate: string, auc: number): CandidateOutcome {
  return {
    candidate,
    configHash: `hash-${candidate}`,
    status: 'EVALUATED',
    metrics: { auc },
    metricsUri: `s3://evaluations/runs/42/${candidate}/metrics.json`,
    modelDataUrl: `s3://models/runs/42/${candidate}/model.tar.gz`,
  };
}

const saved = process.env.GATE_RULES;
afterEach(() => {
  if (saved === undefined) delete process.env.GATE_RULES;
  else process.env.GATE_RULES = saved;
});

test('picks the winner against the champion with the rules of GATE_RULES', async () => {
  // GIVEN
  process.env.GATE_RULES = JSON.stringify(RULES);
  const outcomes = [evaluated('lr', 0.905), evaluated('xgb', 0.93)];

  // WHEN
  const decision = await handler({ outcomes, champion: APPROVED });

  // THEN
  expect(decision).toEqual({
    winner: outcomes[1],
    rejections: [{ candidate: 'lr', reasons: [`auc 0.905 does not beat the champion's 0.9 by more than 0.01 (${CHAMPION_ARN})`] }],
    champion: { modelPackageArn: CHAMPION_ARN, metrics: { auc: 0.9 } },
    summary: 'xgb wins with auc 0.93 (champion 0.9); 1 rejected',
  });
});

test('returns a decision without a winner, and does not throw, when nobody passes', async () => {
  // GIVEN
  process.env.GATE_RULES = JSON.stringify(RULES);
  const outcomes: CandidateOutcome[] = [
    evaluated('lr', 0.7),
    { candidate: 'xgb', configHash: 'h', status: 'FAILED', failure: 'training failed: Essential container in task exited' },
  ];

  // WHEN
  const decision = await handler({ outcomes, champion: null });

  // THEN
  expect(decision.winner).toBeUndefined();
  expect(decision.champion).toBeUndefined();
  expect(decision.summary).toBe(
    'no candidate passed (no champion yet): lr: auc 0.7 below min 0.8; xgb: training failed: Essential container in task exited',
  );
});

test('gives the same decision when invoked again with the same input', async () => {
  process.env.GATE_RULES = JSON.stringify(RULES);
  const event = { outcomes: [evaluated('b', 0.95), evaluated('a', 0.95)], champion: APPROVED };

  const first = await handler(event);
  const second = await handler(event);

  expect(second).toEqual(first);
  expect(first.winner?.candidate).toBe('a');
});

test('fails with InvalidGateRules when GATE_RULES is not set', async () => {
  delete process.env.GATE_RULES;

  const error = await handler({ outcomes: [evaluated('a', 0.9)] }).catch((e: Error) => e);

  expect(error).toMatchObject({ name: 'InvalidGateRules' });
  expect((error as Error).message).toMatch(/GATE_RULES is not set/);
});

test('fails with InvalidGateRules naming what is wrong with the rules', async () => {
  process.env.GATE_RULES = JSON.stringify({ ...RULES, latency: { percentile: 'p90', maxMs: 10 } });

  const error = await handler({ outcomes: [evaluated('a', 0.9)] }).catch((e: Error) => e);

  expect(error).toMatchObject({ name: 'InvalidGateRules' });
  expect((error as Error).message).toMatch(/latency\.percentile is "p90", not one of p50, p95, p99/);
});

test('fails with InvalidGateInput when the outcomes are not a list of candidates', async () => {
  process.env.GATE_RULES = JSON.stringify(RULES);

  const error = await handler({ outcomes: 'xgb' } as unknown as QualityGateEvent).catch((e: Error) => e);

  expect(error).toMatchObject({ name: 'InvalidGateInput' });
  expect((error as Error).message).toMatch(/outcomes is "xgb", not an array/);
});

test('qualityGate takes the rules as text', () => {
  const decision = qualityGate({ outcomes: [evaluated('a', 0.85)] }, JSON.stringify({ ...RULES, championMargin: undefined }));

  expect(decision).toEqual({ winner: evaluated('a', 0.85), rejections: [], summary: 'a wins with auc 0.85; 0 rejected' });
});
