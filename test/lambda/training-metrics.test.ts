import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler, publishTrainingMetrics } from '../../lambda/quality-gate.lambda';
import { runningMs, trainingCounts, trainingMetricData } from '../../lambda/shared/training-metrics';
import { AttemptTimes, CandidateOutcome } from '../../lambda/shared/workflow-types';
import { AttemptFixture, failedJobDescription, STATUS_REASONS, succeededJobDescription } from '../fixtures/aws/batch';

const base = { configHash: 'c'.repeat(64) };
const evaluated = (candidate: string, trainedOnDemand: boolean): CandidateOutcome =>
  ({ ...base, candidate, status: 'EVALUATED', metrics: { auc: 0.9 }, trainedOnDemand });
const failedAt = (candidate: string, stage: string, trainedOnDemand?: boolean): CandidateOutcome => ({
  ...base,
  candidate,
  status: 'FAILED',
  failure: `${stage} failed`,
  trainedOnDemand,
  failureDetail: { stage, error: 'States.TaskFailed', statusReason: 'x', text: `${stage} failed` },
});

describe('trainingCounts', () => {
  test('counts each way a candidate ends', () => {
    expect(trainingCounts([
      evaluated('a', false),
      evaluated('b', true),
      { ...base, candidate: 'c', status: 'CACHED', metrics: { auc: 0.9 }, modelPackageArn: 'arn' },
      failedAt('d', 'Training'),
      failedAt('e', 'Training on demand'),
      failedAt('f', 'Evaluation', true),
      failedAt('g', 'Aggregation', false),
    ])).toEqual({
      candidates: 7, trainedOnSpot: 2, trainedOnDemand: 3, evaluationsOnDemand: 0, cacheHits: 1, failed: 4, gpuHoursOnSpot: 0, gpuHoursOnDemand: 0,
    });
  });

  test('a cached outcome is a hit only, even if the run that trained it fell back to on-demand', () => {
    expect(trainingCounts([{ ...base, candidate: 'c', status: 'CACHED', trainedOnDemand: true, evaluatedOnDemand: true }]))
      .toEqual({
        candidates: 1, trainedOnSpot: 0, trainedOnDemand: 0, evaluationsOnDemand: 0, cacheHits: 1, failed: 0, gpuHoursOnSpot: 0, gpuHoursOnDemand: 0,
      });
  });

  test('data points: one per metric, zeros included, with the workflow dimension; counts in Count, GPU hours in None', () => {
    const now = new Date('2026-12-03T10:00:00Z');
    const data = trainingMetricData('App/Training', trainingCounts([evaluated('a', false)]), now);
    expect(data.map((d) => d.MetricName).sort()).toEqual([
      'CacheHits', 'Candidates', 'CandidatesFailed', 'CandidatesTrainedOnDemand', 'CandidatesTrainedOnSpot', 'EvaluationsOnDemand',
      'GpuHoursOnDemand', 'GpuHoursOnSpot',
    ]);
    expect(data).toContainEqual({ MetricName: 'CandidatesTrainedOnDemand', Value: 0, Unit: 'Count', Timestamp: now, Dimensions: [{ Name: 'Workflow', Value: 'App/Training' }] });
    expect(data).toContainEqual({ MetricName: 'GpuHoursOnSpot', Value: 0, Unit: 'None', Timestamp: now, Dimensions: [{ Name: 'Workflow', Value: 'App/Training' }] });
    expect(data.find((d) => d.MetricName === 'CandidatesTrainedOnSpot')?.Value).toBe(1);
  });

  test('the running time of a job: pairs of ordered numbers only', () => {
    expect(runningMs({ startedAt: [1000, 5000], stoppedAt: [4000, 5500] })).toBe(3500);
    expect(runningMs(undefined)).toBe(0);
    // A stop time without its start (arrays of different lengths) is not paired with another attempt's start.
    expect(runningMs({ startedAt: [1000], stoppedAt: [4000, 9000] })).toBe(3000);
    expect(runningMs({ startedAt: [5000, 'x' as unknown as number], stoppedAt: [1000, 9000] })).toBe(0);
    expect(runningMs({ startedAt: null, stoppedAt: [] } as unknown as AttemptTimes)).toBe(0);
  });
});

describe('publishTrainingMetrics', () => {
  const cloudwatch = mockClient(CloudWatchClient);
  beforeEach(() => cloudwatch.reset());

  test('one PutMetricData call into cdk-mlops/Training', async () => {
    cloudwatch.on(PutMetricDataCommand).resolves({});
    await expect(publishTrainingMetrics(new CloudWatchClient({}), 'App/Training', [evaluated('a', true)], new Date())).resolves.toBe(true);
    expect(cloudwatch).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    expect(cloudwatch).toHaveReceivedCommandWith(PutMetricDataCommand, { Namespace: 'cdk-mlops/Training' });
  });

  test('a refused call is logged with the counts, not thrown', async () => {
    cloudwatch.on(PutMetricDataCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await expect(publishTrainingMetrics(new CloudWatchClient({}), 'App/Training', [evaluated('a', true)], new Date())).resolves.toBe(false);
      expect(JSON.parse(log.mock.calls[0][0])).toMatchObject({ workflow: 'App/Training', counts: { trainedOnDemand: 1 } });
    } finally {
      log.mockRestore();
    }
  });
});

/**
 * The GPU hours through the handler, as the state machine hands the outcomes over: each job's attempts reduced to the
 * start and stop times of those that ran (the fixtures are DescribeJobs job descriptions with epoch-ms timestamps).
 */
describe('the quality gate handler publishes GPU hours and evaluation fallbacks', () => {
  const cloudwatch = mockClient(CloudWatchClient);
  const RULES = JSON.stringify({ primaryMetric: 'auc', higherIsBetter: true, thresholds: [], fairness: [] });
  const reclaimed = (minutes: number): AttemptFixture => ({ statusReason: STATUS_REASONS.spotReclaimed.value, minutes });
  const finished = (minutes: number): AttemptFixture => ({ statusReason: STATUS_REASONS.essentialContainerExited.value, exitCode: 0, minutes });

  /** What the state machine keeps of a job description: the attempts that ran, their start and stop times. */
  function kept(description: { Attempts: Array<{ StartedAt?: number; StoppedAt?: number }> }): AttemptTimes {
    const ran = description.Attempts.filter((a) => a.StartedAt !== undefined);
    return { startedAt: ran.map((a) => a.StartedAt!), stoppedAt: ran.map((a) => a.StoppedAt!) };
  }
  /** The same job's hours, from the description's timestamps. */
  function hours(description: { Attempts: Array<{ StartedAt?: number; StoppedAt?: number }> }): number {
    return description.Attempts.reduce((sum, a) => sum + (a.StartedAt === undefined ? 0 : a.StoppedAt! - a.StartedAt), 0) / 3_600_000;
  }

  beforeEach(() => {
    cloudwatch.reset();
    cloudwatch.on(PutMetricDataCommand).resolves({});
    process.env.GATE_RULES = RULES;
    process.env.METRICS_WORKFLOW = 'App/Training';
  });
  afterAll(() => {
    delete process.env.GATE_RULES;
    delete process.env.METRICS_WORKFLOW;
  });

  async function publishedFor(outcomes: CandidateOutcome[]): Promise<Record<string, number>> {
    await handler({ outcomes, champion: null });
    expect(cloudwatch).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    const input = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input;
    expect(input.Namespace).toBe('cdk-mlops/Training');
    return Object.fromEntries(input.MetricData!.map((d) => [d.MetricName, d.Value]));
  }

  test('reclaimed on spot, then trained on demand (2 GPUs): the hours of every attempt, on its queue', async () => {
    const spot = failedJobDescription('xgb-train', [reclaimed(20), reclaimed(40), reclaimed(10)], STATUS_REASONS.spotReclaimed.value).value;
    const onDemand = succeededJobDescription('xgb-train', [finished(45)]).value;
    const values = await publishedFor([{
      ...base,
      candidate: 'xgb',
      status: 'EVALUATED',
      metrics: { auc: 0.9 },
      trainedOnDemand: true,
      evaluatedOnDemand: false,
      trainingTime: { gpus: 2, attempts: { spot: kept(spot), onDemand: kept(onDemand) } },
    }]);
    expect(hours(spot)).toBeCloseTo(70 / 60, 9);
    expect(values).toEqual({
      Candidates: 1,
      CandidatesTrainedOnSpot: 0,
      CandidatesTrainedOnDemand: 1,
      EvaluationsOnDemand: 0,
      CacheHits: 0,
      CandidatesFailed: 0,
      GpuHoursOnSpot: expect.closeTo(2 * hours(spot), 6),
      GpuHoursOnDemand: expect.closeTo(2 * hours(onDemand), 6),
    });
  });

  test('a cache hit: no GPU hour, even if its record carries the times of the run that trained it', async () => {
    const earlier = succeededJobDescription('xgb-train', [finished(60)]).value;
    const values = await publishedFor([{
      ...base, candidate: 'xgb', status: 'CACHED', metrics: { auc: 0.9 }, trainingTime: { gpus: 8, attempts: { spot: kept(earlier) } },
    }]);
    expect(values).toMatchObject({ CacheHits: 1, GpuHoursOnSpot: 0, GpuHoursOnDemand: 0 });
  });

  test('an evaluation fallback counts in EvaluationsOnDemand, not in CandidatesTrainedOnDemand', async () => {
    const spot = succeededJobDescription('xgb-train', [finished(30)]).value;
    const values = await publishedFor([
      {
        ...base,
        candidate: 'xgb',
        status: 'EVALUATED',
        metrics: { auc: 0.9 },
        trainedOnDemand: false,
        evaluatedOnDemand: true,
        trainingTime: { gpus: 1, attempts: { spot: kept(spot) } },
      },
      { ...failedAt('mlp', 'Evaluation on demand', false), trainingTime: { gpus: 4, attempts: { spot: kept(spot) } } },
      { ...failedAt('lr', 'Evaluation', false), trainingTime: { gpus: 0, attempts: { spot: kept(spot) } } },
    ]);
    expect(values).toEqual({
      Candidates: 3,
      CandidatesTrainedOnSpot: 3,
      CandidatesTrainedOnDemand: 0,
      EvaluationsOnDemand: 2,
      CacheHits: 0,
      CandidatesFailed: 2,
      // lr's job has no GPU: its running time costs no GPU hour.
      GpuHoursOnSpot: expect.closeTo(5 * hours(spot), 6),
      GpuHoursOnDemand: 0,
    });
  });
});
