import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { publishTrainingMetrics } from '../../lambda/quality-gate.lambda';
import { trainingCounts, trainingMetricData } from '../../lambda/shared/training-metrics';
import { CandidateOutcome } from '../../lambda/shared/workflow-types';

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
    ])).toEqual({ candidates: 7, trainedOnSpot: 2, trainedOnDemand: 3, cacheHits: 1, failed: 4 });
  });

  test('a cached outcome is a hit only, even if the run that trained it fell back to on-demand', () => {
    expect(trainingCounts([{ ...base, candidate: 'c', status: 'CACHED', trainedOnDemand: true }]))
      .toEqual({ candidates: 1, trainedOnSpot: 0, trainedOnDemand: 0, cacheHits: 1, failed: 0 });
  });

  test('data points: one Count per metric, zeros included, with the workflow dimension', () => {
    const now = new Date('2026-12-03T10:00:00Z');
    const data = trainingMetricData('App/Training', trainingCounts([evaluated('a', false)]), now);
    expect(data).toHaveLength(5);
    expect(data).toContainEqual({ MetricName: 'CandidatesTrainedOnDemand', Value: 0, Unit: 'Count', Timestamp: now, Dimensions: [{ Name: 'Workflow', Value: 'App/Training' }] });
    expect(data.find((d) => d.MetricName === 'CandidatesTrainedOnSpot')?.Value).toBe(1);
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
