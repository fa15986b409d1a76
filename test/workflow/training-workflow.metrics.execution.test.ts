/**
 * The GPU hours and the on-demand fallbacks the quality gate publishes, from what the synthesized state machine keeps
 * of the Batch job descriptions: executed on aws-local-stepfunctions with the real gate handler and a mocked
 * CloudWatch. The durations come from the fixtures' attempt timestamps (DescribeJobs AttemptDetail startedAt /
 * stoppedAt, epoch milliseconds); xgb's job definition has 1 GPU, mlp's 4.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cachedResultOf, workflowStack } from './fixture';
import { handler as qualityGate } from '../../lambda/quality-gate.lambda';
import { AttemptFixture, STATUS_REASONS, succeededJobDescription } from '../fixtures/aws/batch';
import { batchJobFailure, batchJobResult } from '../fixtures/aws/step-functions-batch';
import { runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const { stack } = workflowStack();
const definition = stateMachineDefinition(stack);
const gateEnvironment = (() => {
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const gate = Object.values(functions).find((f: any) => f.Properties.Environment?.Variables?.GATE_RULES) as any;
  return gate.Properties.Environment.Variables as { GATE_RULES: string; METRICS_WORKFLOW: string };
})();
const GPUS: Record<string, number> = { xgb: 1, mlp: 4 };

const TRAINING_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`;
const DATA_VERSION = { dataVersionId: 'dv-1234', manifestUri: 's3://data/data-versions/dv-1234.jsonl', prefix: 'datasets/fraud/' };
const REVISIONS = {
  revisionArns: ['xgb-img:3', 'mlp-img:3', 'evaluate-img:3'].map((r) => `arn:aws:batch:us-east-1:123456789012:job-definition/${r}`),
  bySourceArn: {},
};

const reclaimed = (minutes: number): AttemptFixture => ({ statusReason: STATUS_REASONS.spotReclaimed.value, minutes });
const finished = (minutes: number): AttemptFixture => ({ statusReason: STATUS_REASONS.essentialContainerExited.value, exitCode: 0, minutes });
const codeFailed = (minutes: number): AttemptFixture => ({ statusReason: STATUS_REASONS.essentialContainerExited.value, exitCode: 1, minutes });
/** An attempt that never reached RUNNING (its image could not be pulled): no StartedAt, no StoppedAt. */
const neverRan: AttemptFixture = { statusReason: 'CannotPullContainerError: pull access denied', ran: false };

/** The running hours of a fixture job's attempts, read from its description's timestamps, as the gate should count them. */
function hoursOf(attempts: readonly AttemptFixture[]): number {
  return succeededJobDescription('job', attempts).value.Attempts
    .filter((a: any) => a.StartedAt !== undefined)
    .reduce((sum: number, a: any) => sum + (a.StoppedAt - a.StartedAt), 0) / 3_600_000;
}

function metricsFor(candidate: string, auc: number) {
  return {
    candidate,
    metrics: { auc, logloss: 0.3 },
    slices: { 'region=eu': { auc }, 'region=us': { auc: auc - 0.02 } },
    latencyMs: { p50: 10, p95: 40, p99: 80 },
    shards: 4,
    metricsUri: `s3://models/evaluations/exec-1/${candidate}/metrics.json`,
  };
}

const cloudwatch = mockClient(CloudWatchClient);
beforeEach(() => {
  cloudwatch.reset();
  cloudwatch.on(PutMetricDataCommand).resolves({});
  process.env.GATE_RULES = gateEnvironment.GATE_RULES;
  process.env.METRICS_WORKFLOW = gateEnvironment.METRICS_WORKFLOW;
});
afterAll(() => {
  delete process.env.GATE_RULES;
  delete process.env.METRICS_WORKFLOW;
});

/** Runs one execution; each candidate trains in one 30-minute spot attempt unless a handler says otherwise. */
async function run(handlers: Record<string, TaskHandler>) {
  return runLocally(definition, { codeVersion: 'c0ffee', trainingImageUri: TRAINING_IMAGE, dataVersion: DATA_VERSION }, {
    'Prepare job definitions': async () => REVISIONS,
    'Check training cache': async (p) => ({ hit: false, cacheKey: `key-${p.candidate}` }),
    'Train on spot': async (p) => batchJobResult(p.JobName, [finished(30)], `spot-${p.JobName}`),
    'Evaluate': async (p) => ({ JobId: `eval-${p.JobName}`, Status: 'SUCCEEDED' }),
    'Aggregate metrics': async (p) => metricsFor(p.candidate, p.candidate === 'xgb' ? 0.93 : 0.91),
    'Remember the result': async () => ({ recorded: 's3://models/training-cache/k.json' }),
    'Find the champion': async () => null,
    'Quality gate': async (p) => qualityGate(p),
    'Register the winner': async (p) => ({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/7', candidate: p.winner.candidate }),
    ...handlers,
  }, { executionId: 'arn:aws:states:us-east-1:123456789012:execution:training:exec-1', executionName: 'exec-1' });
}

/** The values of the one PutMetricData call, by metric name (namespace, dimension and units checked). */
function published(): Record<string, number> {
  expect(cloudwatch).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
  const input = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input;
  expect(input.Namespace).toBe('cdk-mlops/Training');
  for (const d of input.MetricData!) {
    expect(d.Dimensions).toEqual([{ Name: 'Workflow', Value: gateEnvironment.METRICS_WORKFLOW }]);
    expect(d.Unit).toBe(d.MetricName!.startsWith('GpuHours') ? 'None' : 'Count');
  }
  return Object.fromEntries(input.MetricData!.map((d) => [d.MetricName, d.Value]));
}

const closeTo = (hours: number) => expect.closeTo(hours, 6);

test('reclaimed on every spot attempt, then trained on demand: every attempt\'s GPU time counts, on its queue', async () => {
  const xgbSpot = [reclaimed(20), reclaimed(40), reclaimed(10)];
  const xgbOnDemand = [finished(45)];
  // Batch retried mlp's reclaimed attempt within the spot job: both attempts were billed.
  const mlpSpot = [reclaimed(15), finished(50)];
  const { output, calls, error } = await run({
    'Train on spot': async (p) => {
      if (p.JobName === 'xgb-train') throw batchJobFailure('xgb-train', xgbSpot);
      return batchJobResult(p.JobName, mlpSpot, `spot-${p.JobName}`);
    },
    'Train on demand': async (p) => batchJobResult(p.JobName, xgbOnDemand, `ondemand-${p.JobName}`),
  });

  expect(error).toBeUndefined();
  expect(calls['Train on demand']).toHaveLength(1);
  // Only the attempts' times reached the gate, not the job descriptions.
  const xgb = calls['Quality gate'][0].outcomes.find((o: any) => o.candidate === 'xgb');
  const described = (attempts: AttemptFixture[]) => succeededJobDescription('xgb-train', attempts).value.Attempts;
  expect(xgb.trainingTime).toEqual({
    gpus: 1,
    attempts: {
      spot: { startedAt: described(xgbSpot).map((a: any) => a.StartedAt), stoppedAt: described(xgbSpot).map((a: any) => a.StoppedAt) },
      onDemand: { startedAt: described(xgbOnDemand).map((a: any) => a.StartedAt), stoppedAt: described(xgbOnDemand).map((a: any) => a.StoppedAt) },
    },
  });
  expect(output.outcomes.find((o: any) => o.candidate === 'mlp').trainingTime.attempts).toEqual({ spot: expect.any(Object) });
  expect(hoursOf(xgbSpot)).toBe(70 / 60); // the fixture's timestamps: 20 + 40 + 10 minutes
  expect(published()).toEqual({
    Candidates: 2,
    CandidatesTrainedOnSpot: 1,
    CandidatesTrainedOnDemand: 1,
    EvaluationsOnDemand: 0,
    CacheHits: 0,
    CandidatesFailed: 0,
    GpuHoursOnSpot: closeTo(GPUS.xgb * hoursOf(xgbSpot) + GPUS.mlp * hoursOf(mlpSpot)),
    GpuHoursOnDemand: closeTo(GPUS.xgb * hoursOf(xgbOnDemand)),
  });
});

test('a cache hit adds no GPU hour: only the candidate trained now counts', async () => {
  const { error } = await run({
    'Check training cache': cachedResultOf('xgb'),
  });

  expect(error).toBeUndefined();
  expect(published()).toMatchObject({
    CacheHits: 1, CandidatesTrainedOnSpot: 1, GpuHoursOnSpot: closeTo(GPUS.mlp * hoursOf([finished(30)])), GpuHoursOnDemand: 0,
  });
});

test('evaluations that fell back to on-demand are counted apart: the candidates still trained on spot', async () => {
  const { output, calls, error } = await run({
    // xgb's evaluation reclaimed on its last attempt, mlp's cancelled for capacity: both again on demand.
    'Evaluate': async (p) => {
      if (p.JobName === 'xgb-evaluate') throw batchJobFailure('xgb-evaluate', [reclaimed(5), reclaimed(5), reclaimed(5)]);
      throw batchJobFailure('mlp-evaluate', [], STATUS_REASONS.cancelledForCapacity.value);
    },
    // mlp's on-demand evaluation then fails on its code: still a fallback.
    'Evaluate on demand': async (p) => {
      if (p.JobName === 'mlp-evaluate') throw batchJobFailure('mlp-evaluate', [codeFailed(3)]);
      return { JobId: `eval-ondemand-${p.JobName}`, Status: 'SUCCEEDED' };
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Evaluate on demand']).toHaveLength(2);
  expect(output.outcomes.find((o: any) => o.candidate === 'xgb')).toMatchObject({ status: 'EVALUATED', evaluatedOnDemand: true, trainedOnDemand: false });
  expect(output.outcomes.find((o: any) => o.candidate === 'mlp')).toMatchObject({ status: 'FAILED', failureDetail: { stage: 'Evaluation on demand' } });
  expect(published()).toEqual({
    Candidates: 2,
    CandidatesTrainedOnSpot: 2,
    CandidatesTrainedOnDemand: 0,
    EvaluationsOnDemand: 2,
    CacheHits: 0,
    CandidatesFailed: 1,
    // The evaluation runs on CPUs: only the training's GPU time.
    GpuHoursOnSpot: closeTo((GPUS.xgb + GPUS.mlp) * 0.5),
    GpuHoursOnDemand: 0,
  });
});

test('an aggregation that fails after an on-demand evaluation still counts the evaluation fallback', async () => {
  const { error } = await run({
    'Evaluate': async (p) => {
      if (p.JobName === 'xgb-evaluate') throw batchJobFailure('xgb-evaluate', [], STATUS_REASONS.cancelledForCapacity.value);
      return { JobId: `eval-${p.JobName}`, Status: 'SUCCEEDED' };
    },
    'Evaluate on demand': async (p) => ({ JobId: `eval-ondemand-${p.JobName}`, Status: 'SUCCEEDED' }),
    'Aggregate metrics': async (p) => {
      if (p.candidate === 'xgb') throw Object.assign(new Error('shard 2 wrote no metrics'), { name: 'MetricsNotFound' });
      return metricsFor(p.candidate, 0.91);
    },
  });

  expect(error).toBeUndefined();
  expect(published()).toMatchObject({ EvaluationsOnDemand: 1, CandidatesFailed: 1, CandidatesTrainedOnDemand: 0, GpuHoursOnSpot: closeTo(2.5) });
});

test('spot gave out and the on-demand training failed too: both jobs\' attempts were billed', async () => {
  const mlpSpot = [reclaimed(25), reclaimed(35), reclaimed(5)];
  const mlpOnDemand = [codeFailed(12)];
  const { output, error } = await run({
    'Train on spot': async (p) => {
      if (p.JobName === 'mlp-train') throw batchJobFailure('mlp-train', mlpSpot);
      return batchJobResult(p.JobName, [finished(30)], `spot-${p.JobName}`);
    },
    'Train on demand': async () => {
      throw batchJobFailure('mlp-train', mlpOnDemand);
    },
  });

  expect(error).toBeUndefined();
  expect(output.outcomes.find((o: any) => o.candidate === 'mlp')).toMatchObject({ status: 'FAILED', failureDetail: { stage: 'Training on demand' } });
  expect(published()).toEqual({
    Candidates: 2,
    CandidatesTrainedOnSpot: 1,
    CandidatesTrainedOnDemand: 1,
    EvaluationsOnDemand: 0,
    CacheHits: 0,
    CandidatesFailed: 1,
    GpuHoursOnSpot: closeTo(GPUS.xgb * 0.5 + GPUS.mlp * hoursOf(mlpSpot)),
    GpuHoursOnDemand: closeTo(GPUS.mlp * hoursOf(mlpOnDemand)),
  });
});

test('attempts that never ran count nothing, and a job none of whose attempts ran does not stop the execution', async () => {
  const xgbSpot = [neverRan, finished(40)];
  const { output, error } = await run({
    'Train on spot': async (p) => {
      if (p.JobName === 'mlp-train') throw batchJobFailure('mlp-train', [neverRan, neverRan]);
      return batchJobResult(p.JobName, xgbSpot, `spot-${p.JobName}`);
    },
  });

  expect(error).toBeUndefined();
  expect(output.outcomes.find((o: any) => o.candidate === 'mlp')).toMatchObject({
    status: 'FAILED', trainingTime: { gpus: 4, attempts: { spot: { startedAt: [], stoppedAt: [] } } },
  });
  expect(published()).toMatchObject({ CandidatesFailed: 1, GpuHoursOnSpot: closeTo(GPUS.xgb * 40 / 60), GpuHoursOnDemand: 0 });
});

test('a spot training cancelled before any attempt ran costs no spot GPU hour', async () => {
  const { error } = await run({
    'Train on spot': async (p) => {
      if (p.JobName === 'xgb-train') throw batchJobFailure('xgb-train', [], STATUS_REASONS.cancelledForCapacity.value);
      return batchJobResult(p.JobName, [finished(30)], `spot-${p.JobName}`);
    },
    'Train on demand': async (p) => batchJobResult(p.JobName, [finished(90)], `ondemand-${p.JobName}`),
  });

  expect(error).toBeUndefined();
  expect(published()).toMatchObject({ GpuHoursOnSpot: closeTo(GPUS.mlp * 0.5), GpuHoursOnDemand: closeTo(GPUS.xgb * 1.5) });
});
