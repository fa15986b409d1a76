import {
  championOf,
  evaluateGate,
  fmt,
  MAX_SUMMARY_LENGTH,
  parseGateInput,
  parseGateRules,
  QualityGateError,
} from '../../../lambda/shared/quality-gate';
import { CandidateOutcome, Champion, GateRules } from '../../../lambda/shared/workflow-types';

const CHAMPION_ARN = 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7';

const RULES: GateRules = { primaryMetric: 'auc', higherIsBetter: true, thresholds: [], fairness: [] };

function evaluated(candidate: string, metrics: Record<string, number>, extra: Partial<CandidateOutcome> = {}): CandidateOutcome {
  return { candidate, configHash: `hash-${candidate}`, status: 'EVALUATED', metrics, ...extra };
}

function champion(metrics: Record<string, number>): Champion {
  return { modelPackageArn: CHAMPION_ARN, metrics };
}

/** The error `call` throws; fails the test when it throws none. */
function errorOf(call: () => unknown): QualityGateError {
  try {
    call();
  } catch (error) {
    return error as QualityGateError;
  }
  throw new Error('expected an error, got none');
}

describe('evaluateGate', () => {
  test('all pass: the best primary metric wins and the others lost to it', () => {
    // GIVEN
    const outcomes = [evaluated('lr', { auc: 0.88 }), evaluated('xgb', { auc: 0.93 }), evaluated('rf', { auc: 0.9 })];

    // WHEN
    const decision = evaluateGate(outcomes, RULES);

    // THEN
    expect(decision.winner).toBe(outcomes[1]);
    expect(decision.rejections).toEqual([
      { candidate: 'lr', reasons: ['lost to xgb on auc (0.88 vs 0.93)'] },
      { candidate: 'rf', reasons: ['lost to xgb on auc (0.9 vs 0.93)'] },
    ]);
    expect(decision.champion).toBeUndefined();
    expect(decision.summary).toBe('xgb wins with auc 0.93; 2 rejected');
  });

  test('a lower primary metric wins when higherIsBetter is false', () => {
    const outcomes = [evaluated('a', { logloss: 0.3 }), evaluated('b', { logloss: 0.2 })];

    const decision = evaluateGate(outcomes, { ...RULES, primaryMetric: 'logloss', higherIsBetter: false });

    expect(decision.winner?.candidate).toBe('b');
    expect(decision.rejections).toEqual([{ candidate: 'a', reasons: ['lost to b on logloss (0.3 vs 0.2)'] }]);
  });

  test('rejects a FAILED candidate with its failure and still judges the others', () => {
    // GIVEN
    const outcomes: CandidateOutcome[] = [
      { candidate: 'dnn', configHash: 'h', status: 'FAILED', failure: 'training failed: Host EC2 (instance i-0abc) terminated.' },
      evaluated('lr', { auc: 0.85 }),
      evaluated('xgb', { auc: 0.86 }),
    ];

    // WHEN
    const decision = evaluateGate(outcomes, RULES);

    // THEN
    expect(decision.winner?.candidate).toBe('xgb');
    expect(decision.rejections).toEqual([
      { candidate: 'dnn', reasons: ['training failed: Host EC2 (instance i-0abc) terminated.'] },
      { candidate: 'lr', reasons: ['lost to xgb on auc (0.85 vs 0.86)'] },
    ]);
    expect(decision.summary).toBe('xgb wins with auc 0.86; 2 rejected');
  });

  test('rejects a FAILED candidate without a failure with a reason all the same', () => {
    const decision = evaluateGate([{ candidate: 'x', configHash: 'h', status: 'FAILED' }], RULES);

    expect(decision.rejections).toEqual([{ candidate: 'x', reasons: ['failed, and gave no reason'] }]);
  });

  test('rejects a candidate without the primary metric', () => {
    const decision = evaluateGate([evaluated('a', { recall: 0.9 })], RULES);

    expect(decision.winner).toBeUndefined();
    expect(decision.rejections).toEqual([{ candidate: 'a', reasons: ['no auc metric (the primary metric)'] }]);
  });

  test('does not take a property of Object for a missing metric', () => {
    const decision = evaluateGate([evaluated('a', { auc: 0.9 })], { ...RULES, primaryMetric: 'constructor', thresholds: [{ metric: 'toString', min: 0 }] });

    expect(decision.rejections).toEqual([{ candidate: 'a', reasons: ['no constructor metric (the primary metric)', 'no toString metric (threshold min 0)'] }]);
  });

  test('checks min and max thresholds, bounds included, and a missing metric fails its threshold', () => {
    // GIVEN
    const rules: GateRules = {
      ...RULES,
      thresholds: [
        { metric: 'auc', min: 0.8 },
        { metric: 'logloss', max: 0.3 },
        { metric: 'recall', min: 0.5, max: 0.99 },
      ],
    };
    const outcomes = [
      evaluated('low', { auc: 0.79, logloss: 0.2, recall: 0.6 }),
      evaluated('high', { auc: 0.9, logloss: 0.31, recall: 0.995 }),
      evaluated('missing', { auc: 0.9, logloss: 0.2 }),
      evaluated('edges', { auc: 0.8, logloss: 0.3, recall: 0.5 }),
    ];

    // WHEN
    const decision = evaluateGate(outcomes, rules);

    // THEN
    expect(decision.winner?.candidate).toBe('edges');
    expect(decision.rejections).toEqual([
      { candidate: 'low', reasons: ['auc 0.79 below min 0.8'] },
      { candidate: 'high', reasons: ['logloss 0.31 above max 0.3', 'recall 0.995 above max 0.99'] },
      { candidate: 'missing', reasons: ['no recall metric (threshold 0.5 to 0.99)'] },
    ]);
  });

  test('checks the fairness gap between the best and the worst slice', () => {
    // GIVEN a gap of 0.12 (fails), one of exactly 0.3 written as 0.4 - 0.1 (passes), and one of 0.05 (passes)
    const rules: GateRules = { ...RULES, fairness: [{ metric: 'auc', maxGap: 0.1 }, { metric: 'recall', maxGap: 0.3 }] };
    const outcomes = [
      evaluated('unfair', { auc: 0.9 }, {
        slices: { 'region=eu': { auc: 0.95, recall: 0.4 }, 'region=us': { auc: 0.83, recall: 0.1 }, 'region=ap': { auc: 0.9 } },
      }),
      evaluated('fair', { auc: 0.85 }, { slices: { 'region=eu': { auc: 0.86, recall: 0.4 }, 'region=us': { auc: 0.81, recall: 0.1 } } }),
    ];

    // WHEN
    const decision = evaluateGate(outcomes, rules);

    // THEN
    expect(decision.winner?.candidate).toBe('fair');
    expect(decision.rejections).toEqual([
      { candidate: 'unfair', reasons: ['auc gap 0.12 between slices region=eu (0.95) and region=us (0.83) above max 0.1'] },
    ]);
  });

  test('cannot check fairness with fewer than 2 slices that have the metric, and says so', () => {
    const rules: GateRules = { ...RULES, fairness: [{ metric: 'auc', maxGap: 0.1 }] };
    const outcomes = [
      evaluated('one', { auc: 0.9 }, { slices: { eu: { auc: 0.9 }, us: { recall: 0.8 } } }),
      evaluated('none', { auc: 0.9 }),
    ];

    const decision = evaluateGate(outcomes, rules);

    expect(decision.winner).toBeUndefined();
    expect(decision.rejections).toEqual([
      { candidate: 'one', reasons: ['cannot check fairness of auc: 1 slice has it, 2 needed'] },
      { candidate: 'none', reasons: ['cannot check fairness of auc: 0 slices have it, 2 needed'] },
    ]);
  });

  test('checks the latency budget, the budget included, and a missing percentile fails it', () => {
    // GIVEN
    const rules: GateRules = { ...RULES, latency: { percentile: 'p95', maxMs: 50 } };
    const outcomes = [
      evaluated('slow', { auc: 0.95 }, { latencyMs: { p50: 10, p95: 50.5 } }),
      evaluated('unmeasured', { auc: 0.94 }, { latencyMs: { p99: 20 } }),
      evaluated('fast', { auc: 0.9 }, { latencyMs: { p95: 50 } }),
    ];

    // WHEN
    const decision = evaluateGate(outcomes, rules);

    // THEN
    expect(decision.winner?.candidate).toBe('fast');
    expect(decision.rejections).toEqual([
      { candidate: 'slow', reasons: ['p95 latency 50.5 ms above budget 50 ms'] },
      { candidate: 'unmeasured', reasons: ['no p95 latency (budget 50 ms)'] },
    ]);
  });

  test('collects every failed rule of a candidate, not just the first', () => {
    // GIVEN a candidate that fails everything
    const rules: GateRules = {
      ...RULES,
      thresholds: [{ metric: 'auc', min: 0.8 }, { metric: 'precision', min: 0.5 }],
      fairness: [{ metric: 'auc', maxGap: 0.05 }],
      latency: { percentile: 'p99', maxMs: 100 },
      championMargin: 0.01,
    };
    const outcome = evaluated('bad', { auc: 0.7 }, { slices: { a: { auc: 0.9 }, b: { auc: 0.6 } }, latencyMs: { p99: 250 } });

    // WHEN
    const decision = evaluateGate([outcome], rules, champion({ auc: 0.9 }));

    // THEN
    expect(decision.rejections[0].reasons).toEqual([
      'auc 0.7 below min 0.8',
      'no precision metric (threshold min 0.5)',
      'auc gap 0.3 between slices a (0.9) and b (0.6) above max 0.05',
      'p99 latency 250 ms above budget 100 ms',
      `auc 0.7 does not beat the champion's 0.9 by more than 0.01 (${CHAMPION_ARN})`,
    ]);
  });

  describe('champion / challenger', () => {
    const rules: GateRules = { ...RULES, championMargin: 0.01 };

    test('a candidate that beats the champion by more than the margin wins', () => {
      const decision = evaluateGate([evaluated('xgb', { auc: 0.93 })], rules, champion({ auc: 0.9 }));

      expect(decision.winner?.candidate).toBe('xgb');
      expect(decision.champion).toEqual(champion({ auc: 0.9 }));
      expect(decision.summary).toBe('xgb wins with auc 0.93 (champion 0.9); 0 rejected');
    });

    test('a candidate that beats the champion by the margin or less is rejected', () => {
      // GIVEN 0.905 (less than the margin) and 0.91 (exactly the margin: 0.91 - 0.9 is 0.010000000000000009 in floating point)
      const outcomes = [evaluated('a', { auc: 0.905 }), evaluated('b', { auc: 0.91 })];

      // WHEN
      const decision = evaluateGate(outcomes, rules, champion({ auc: 0.9 }));

      // THEN
      expect(decision.winner).toBeUndefined();
      expect(decision.rejections).toEqual([
        { candidate: 'a', reasons: [`auc 0.905 does not beat the champion's 0.9 by more than 0.01 (${CHAMPION_ARN})`] },
        { candidate: 'b', reasons: [`auc 0.91 does not beat the champion's 0.9 by more than 0.01 (${CHAMPION_ARN})`] },
      ]);
      expect(decision.summary).toBe(
        `no candidate passed (champion 0.9): a: auc 0.905 does not beat the champion's 0.9 by more than 0.01 (${CHAMPION_ARN}); ` +
          `b: auc 0.91 does not beat the champion's 0.9 by more than 0.01 (${CHAMPION_ARN})`,
      );
    });

    test('with higherIsBetter false, the candidate must be lower than the champion by more than the margin', () => {
      // GIVEN a loss metric: the champion has 0.30
      const lossRules: GateRules = { ...RULES, primaryMetric: 'loss', higherIsBetter: false, championMargin: 0.02 };
      const outcomes = [evaluated('better', { loss: 0.25 }), evaluated('close', { loss: 0.29 }), evaluated('worse', { loss: 0.35 })];

      // WHEN
      const decision = evaluateGate(outcomes, lossRules, champion({ loss: 0.3 }));

      // THEN
      expect(decision.winner?.candidate).toBe('better');
      expect(decision.rejections).toEqual([
        { candidate: 'close', reasons: [`loss 0.29 does not beat the champion's 0.3 by more than 0.02 (${CHAMPION_ARN})`] },
        { candidate: 'worse', reasons: [`loss 0.35 does not beat the champion's 0.3 by more than 0.02 (${CHAMPION_ARN})`] },
      ]);
      expect(decision.summary).toBe('better wins with loss 0.25 (champion 0.3); 2 rejected');
    });

    test('with higherIsBetter true, a lower candidate does not beat the champion', () => {
      const decision = evaluateGate([evaluated('a', { auc: 0.8 })], rules, champion({ auc: 0.9 }));

      expect(decision.rejections[0].reasons).toEqual([`auc 0.8 does not beat the champion's 0.9 by more than 0.01 (${CHAMPION_ARN})`]);
    });

    test('a margin of 0 asks for a strict improvement', () => {
      const zero: GateRules = { ...RULES, championMargin: 0 };

      expect(evaluateGate([evaluated('same', { auc: 0.9 })], zero, champion({ auc: 0.9 })).winner).toBeUndefined();
      expect(evaluateGate([evaluated('up', { auc: 0.9001 })], zero, champion({ auc: 0.9 })).winner?.candidate).toBe('up');
    });

    test('a champion without the primary metric is not a reason to reject, and the summary says so', () => {
      const decision = evaluateGate([evaluated('xgb', { auc: 0.7 })], rules, champion({ recall: 0.9 }));

      expect(decision.winner?.candidate).toBe('xgb');
      expect(decision.summary).toBe(`xgb wins with auc 0.7 (champion ${CHAMPION_ARN} has no auc metric: not compared); 0 rejected`);
    });

    test('no champion yet: the best candidate wins, and the summary says so', () => {
      const decision = evaluateGate([evaluated('xgb', { auc: 0.7 })], rules);

      expect(decision.winner?.candidate).toBe('xgb');
      expect(decision.summary).toBe('xgb wins with auc 0.7 (no champion yet); 0 rejected');
    });

    test('without a championMargin the champion is not considered, but reported', () => {
      const decision = evaluateGate([evaluated('xgb', { auc: 0.7 })], RULES, champion({ auc: 0.99 }));

      expect(decision.winner?.candidate).toBe('xgb');
      expect(decision.champion).toEqual(champion({ auc: 0.99 }));
      expect(decision.summary).toBe('xgb wins with auc 0.7; 0 rejected');
    });
  });

  test('no candidate passes: no winner, and the summary lists every reason of every candidate', () => {
    // GIVEN
    const rules: GateRules = { ...RULES, thresholds: [{ metric: 'auc', min: 0.8 }], latency: { percentile: 'p95', maxMs: 10 } };
    const outcomes: CandidateOutcome[] = [
      evaluated('lr', { auc: 0.7 }, { latencyMs: { p95: 12 } }),
      { candidate: 'xgb', configHash: 'h', status: 'FAILED', failure: 'training failed: OutOfMemoryError: Container killed' },
      evaluated('rf', { auc: 0.75 }, { latencyMs: { p95: 5 } }),
    ];

    // WHEN
    const decision = evaluateGate(outcomes, rules);

    // THEN
    expect(decision.winner).toBeUndefined();
    expect(decision.rejections.map((r) => r.candidate)).toEqual(['lr', 'xgb', 'rf']);
    expect(decision.summary).toBe(
      'no candidate passed: lr: auc 0.7 below min 0.8, p95 latency 12 ms above budget 10 ms; ' +
        'xgb: training failed: OutOfMemoryError: Container killed; rf: auc 0.75 below min 0.8',
    );
  });

  test('a CACHED candidate can win', () => {
    // GIVEN
    const cached: CandidateOutcome = {
      candidate: 'xgb',
      configHash: 'h1',
      status: 'CACHED',
      metrics: { auc: 0.95 },
      modelPackageArn: 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/5',
    };
    const outcomes = [evaluated('lr', { auc: 0.9 }), cached];

    // WHEN
    const decision = evaluateGate(outcomes, { ...RULES, championMargin: 0.01 }, champion({ auc: 0.92 }));

    // THEN
    expect(decision.winner).toBe(cached);
    expect(decision.summary).toBe('xgb (cached) wins with auc 0.95 (champion 0.92); 1 rejected');
    expect(decision.rejections[0].reasons).toEqual([`auc 0.9 does not beat the champion's 0.92 by more than 0.01 (${CHAMPION_ARN})`]);
  });

  test('a CACHED candidate is held to the rules like an evaluated one', () => {
    const cached: CandidateOutcome = { candidate: 'old', configHash: 'h', status: 'CACHED', metrics: { auc: 0.6 } };

    const decision = evaluateGate([cached], { ...RULES, thresholds: [{ metric: 'auc', min: 0.8 }] });

    expect(decision.winner).toBeUndefined();
    expect(decision.rejections).toEqual([{ candidate: 'old', reasons: ['auc 0.6 below min 0.8'] }]);
  });

  test('breaks a tie by candidate name, whatever the order of the outcomes', () => {
    // GIVEN three candidates with the same AUC, in two orders
    const outcomes = [evaluated('zeta', { auc: 0.9 }), evaluated('alpha', { auc: 0.9 }), evaluated('mid', { auc: 0.9 })];

    // WHEN
    const first = evaluateGate(outcomes, RULES);
    const second = evaluateGate([...outcomes].reverse(), RULES);

    // THEN
    expect(first.winner?.candidate).toBe('alpha');
    expect(second.winner?.candidate).toBe('alpha');
    expect(first.rejections).toEqual([
      { candidate: 'zeta', reasons: ['lost to alpha on auc (0.9 vs 0.9); tie broken by candidate name'] },
      { candidate: 'mid', reasons: ['lost to alpha on auc (0.9 vs 0.9); tie broken by candidate name'] },
    ]);
    expect(second.summary).toBe(first.summary);
  });

  test('treats floating-point noise as a tie', () => {
    // GIVEN 0.1 + 0.2 and 0.3, which differ in the last bit
    const decision = evaluateGate([evaluated('b', { auc: 0.1 + 0.2 }), evaluated('a', { auc: 0.3 })], RULES);

    expect(decision.winner?.candidate).toBe('a');
    expect(decision.rejections[0].reasons).toEqual(['lost to a on auc (0.3 vs 0.3); tie broken by candidate name']);
  });

  test('gives the same decision for the same input', () => {
    const outcomes = [evaluated('a', { auc: 0.91 }), evaluated('b', { auc: 0.92 })];

    expect(evaluateGate(outcomes, RULES)).toEqual(evaluateGate(outcomes, RULES));
  });

  test('keeps the summary on one line and within its cap, cutting between candidates, never inside a reason', () => {
    // GIVEN 30 failures with long, multi-line reasons
    const outcomes: CandidateOutcome[] = Array.from({ length: 30 }, (_, i) => ({
      candidate: `c${i}`,
      configHash: 'h',
      status: 'FAILED' as const,
      failure: `training failed:\n${'x'.repeat(300)}`,
    }));

    // WHEN
    const decision = evaluateGate(outcomes, RULES);

    // THEN
    expect(decision.summary.length).toBeLessThanOrEqual(MAX_SUMMARY_LENGTH);
    expect(decision.summary).not.toMatch(/[\r\n]/);
    expect(decision.summary).toMatch(/^no candidate passed: c0: training failed: x{300}; c1: training failed: x{300}; c2:/);
    const shown = decision.summary.match(/c\d+: training failed: x{300}/g)!;
    expect(shown.length).toBeGreaterThan(10);
    expect(decision.summary).toContain(`; c${shown.length - 1}: training failed: ${'x'.repeat(300)} (${30 - shown.length} more rejected; ` +
      'every reason is in the decision\'s rejections)');
    expect(decision.summary.endsWith('rejections)')).toBe(true);
    // the rejections keep the reasons whole
    expect(decision.rejections[29].reasons).toEqual([`training failed:\n${'x'.repeat(300)}`]);
  });
});

describe('parseGateRules', () => {
  test('parses complete rules', () => {
    const rules = {
      primaryMetric: 'auc',
      higherIsBetter: true,
      thresholds: [{ metric: 'auc', min: 0.8 }, { metric: 'loss', max: 1 }],
      fairness: [{ metric: 'auc', maxGap: 0.05 }],
      latency: { percentile: 'p99', maxMs: 120 },
      championMargin: 0.005,
    };

    expect(parseGateRules(JSON.stringify(rules))).toEqual(rules);
  });

  test('takes absent thresholds and fairness as none', () => {
    expect(parseGateRules('{"primaryMetric": "loss", "higherIsBetter": false}')).toEqual({
      primaryMetric: 'loss',
      higherIsBetter: false,
      thresholds: [],
      fairness: [],
    });
  });

  test.each([
    ['not set', undefined, 'GATE_RULES is not set'],
    ['empty', '', 'GATE_RULES is not set'],
    ['not JSON', '{primaryMetric: auc}', 'GATE_RULES is not valid JSON ('],
    ['an array', '[]', 'GATE_RULES is an array, not a JSON object'],
    ['without a primary metric', '{"higherIsBetter": true}', 'primaryMetric is missing, not a metric name'],
    ['with higherIsBetter as a string', '{"primaryMetric": "auc", "higherIsBetter": "yes"}', 'higherIsBetter is "yes", not true or false'],
    ['with thresholds that are not an array', '{"primaryMetric": "auc", "higherIsBetter": true, "thresholds": {}}', 'thresholds is an object, not an array'],
    ['with a threshold without bounds', '{"primaryMetric": "a", "higherIsBetter": true, "thresholds": [{"metric": "a"}]}', 'thresholds[0] has neither min nor max'],
    ['with a min above the max', '{"primaryMetric": "a", "higherIsBetter": true, "thresholds": [{"metric": "a", "min": 2, "max": 1}]}',
      'thresholds[0].min 2 is above its max 1'],
    ['with a string bound', '{"primaryMetric": "a", "higherIsBetter": true, "thresholds": [{"metric": "a", "min": "0.8"}]}',
      'thresholds[0].min is "0.8", not a number'],
    ['with a threshold without a metric', '{"primaryMetric": "a", "higherIsBetter": true, "thresholds": [{"min": 1}]}',
      'thresholds[0].metric is missing, not a metric name'],
    ['with a negative fairness gap', '{"primaryMetric": "a", "higherIsBetter": true, "fairness": [{"metric": "a", "maxGap": -0.1}]}',
      'fairness[0].maxGap is -0.1, not a number >= 0'],
    ['with a fairness rule that is not an object', '{"primaryMetric": "a", "higherIsBetter": true, "fairness": ["a"]}',
      'fairness[0] is "a", not an object'],
    ['with an unknown percentile', '{"primaryMetric": "a", "higherIsBetter": true, "latency": {"percentile": "p90", "maxMs": 10}}',
      'latency.percentile is "p90", not one of p50, p95, p99'],
    ['with a zero budget', '{"primaryMetric": "a", "higherIsBetter": true, "latency": {"percentile": "p50", "maxMs": 0}}',
      'latency.maxMs is 0, not a number > 0'],
    ['with latency that is not an object', '{"primaryMetric": "a", "higherIsBetter": true, "latency": 10}', 'latency is 10, not an object'],
    ['with a negative champion margin', '{"primaryMetric": "a", "higherIsBetter": true, "championMargin": -1}',
      'championMargin is -1, not a number >= 0'],
  ])('fails with InvalidGateRules when the rules are %s', (_, text, problem) => {
    // WHEN
    const error = errorOf(() => parseGateRules(text));

    // THEN
    expect(error).toBeInstanceOf(QualityGateError);
    expect(error.name).toBe('InvalidGateRules');
    expect(error.message).toContain('the gate rules (GATE_RULES) are invalid: ');
    expect(error.message).toContain(problem);
  });

  test('lists every problem of the rules at once', () => {
    const error = errorOf(() => parseGateRules('{"primaryMetric": "", "higherIsBetter": 1, "championMargin": "0.1"}'));

    expect(error.message).toContain('primaryMetric is "", not a metric name; higherIsBetter is 1, not true or false; ' +
      'championMargin is "0.1", not a number >= 0');
  });
});

describe('parseGateInput', () => {
  const outcome = evaluated('xgb', { auc: 0.9 });

  test('reads the champion metrics from the customer metadata of latest-approved-model', () => {
    // GIVEN
    const approved = {
      modelPackageGroupName: 'fraud',
      modelPackageArn: CHAMPION_ARN,
      modelPackageVersion: 7,
      customerMetadata: {
        'mlops:metric:auc': '0.9',
        'mlops:metric:logloss': ' 1.5e-1 ',
        'mlops:metric:note': 'n/a',
        'mlops:metric:empty': '',
        'mlops:candidate': 'xgb',
        'auc': '0.1',
      },
    };

    // WHEN
    const input = parseGateInput({ outcomes: [outcome], champion: approved });

    // THEN
    expect(input).toEqual({ outcomes: [outcome], champion: { modelPackageArn: CHAMPION_ARN, metrics: { auc: 0.9, logloss: 0.15 } } });
  });

  test('takes a null or absent champion as none', () => {
    expect(parseGateInput({ outcomes: [outcome], champion: null })).toEqual({ outcomes: [outcome] });
    expect(parseGateInput({ outcomes: [outcome] })).toEqual({ outcomes: [outcome] });
  });

  test('takes a champion without customer metadata as one without metrics', () => {
    expect(championOf({ modelPackageArn: CHAMPION_ARN })).toEqual({ modelPackageArn: CHAMPION_ARN, metrics: {} });
  });

  test.each([
    ['not an object', 'outcomes', 'the event is "outcomes", not an object'],
    ['without outcomes', {}, 'outcomes is missing'],
    ['with empty outcomes', { outcomes: [] }, 'outcomes is empty: there is no candidate to judge'],
    ['with outcomes that are not an array', { outcomes: { xgb: 1 } }, 'outcomes is an object, not an array'],
    ['with an outcome without a candidate', { outcomes: [{ status: 'FAILED' }] }, 'outcomes[0].candidate is missing, not a candidate name'],
    ['with a candidate twice', { outcomes: [outcome, outcome] }, "outcomes[1].candidate 'xgb' appears twice"],
    ['with an unknown status', { outcomes: [{ ...outcome, status: 'DONE' }] }, 'outcomes[0].status is "DONE", not one of EVALUATED, CACHED, FAILED'],
    ['with a metric that is a string', { outcomes: [{ ...outcome, metrics: { auc: '0.9' } }] }, 'outcomes[0].metrics["auc"] is "0.9", not a number'],
    ['with slices that are not objects of numbers', { outcomes: [{ ...outcome, slices: { eu: { auc: null } } }] },
      'outcomes[0].slices["eu"]["auc"] is null, not a number'],
    ['with latency that is not numbers', { outcomes: [{ ...outcome, latencyMs: { p95: 'fast' } }] },
      'outcomes[0].latencyMs["p95"] is "fast", not a number'],
    ['with a failure that is not a string', { outcomes: [{ ...outcome, status: 'FAILED', failure: { Error: 'x' } }] },
      'outcomes[0].failure is an object, not a string'],
    ['with a champion without an ARN', { outcomes: [outcome], champion: { customerMetadata: {} } }, 'champion is an object without a modelPackageArn'],
    ['with a champion whose metadata is not an object', { outcomes: [outcome], champion: { modelPackageArn: 'arn', customerMetadata: 'x' } },
      'champion.customerMetadata is "x", not an object'],
  ])('fails with InvalidGateInput when the event is %s', (_, event, problem) => {
    // WHEN
    const error = errorOf(() => parseGateInput(event));

    // THEN
    expect(error.name).toBe('InvalidGateInput');
    expect(error.message).toContain(problem);
    expect(error.message).toMatch(/Pass \{ "outcomes": \[/);
  });
});

describe('fmt', () => {
  test('shows numbers without floating-point noise', () => {
    expect(fmt(0.1 + 0.2)).toBe('0.3');
    expect(fmt(0.95 - 0.83)).toBe('0.12');
    expect(fmt(0.905)).toBe('0.905');
    expect(fmt(1234567)).toBe('1234567');
  });
});
