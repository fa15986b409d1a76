/**
 * The synthesized state machine, executed by a real Amazon States Language interpreter (aws-local-stepfunctions).
 * Batch and Lambda tasks are replaced by local functions; the quality gate runs the real gate handler with the
 * rules the construct wrote into its environment.
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cachedResultOf, workflowStack } from './fixture';
import { handler as qualityGate } from '../../lambda/quality-gate.lambda';
import { STATUS_REASONS } from '../fixtures/aws/batch';
import { batchJobFailure, batchJobResult } from '../fixtures/aws/step-functions-batch';
import { aslErrors, runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const { stack } = workflowStack();
const definition = stateMachineDefinition(stack);
const gateRules = (() => {
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const gate = Object.values(functions).find((f: any) => f.Properties.Environment?.Variables?.GATE_RULES);
  return (gate as any).Properties.Environment.Variables.GATE_RULES as string;
})();

type Handler = TaskHandler;

const DATA_VERSION = { dataVersionId: 'dv-1234', manifestUri: 's3://data/data-versions/dv-1234.jsonl', prefix: 'datasets/fraud/' };
const TRAINING_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`;
/** What prepare-job-definitions returns: the revisions of xgb's, mlp's and the evaluation's job definitions. */
const REVISIONS = {
  revisionArns: ['xgb-img:3', 'mlp-img:3', 'evaluate-img:3'].map((r) => `arn:aws:batch:us-east-1:123456789012:job-definition/${r}`),
  bySourceArn: {},
};

const REASON = {
  reclaimed: STATUS_REASONS.spotReclaimed.value,
  codeFailed: STATUS_REASONS.essentialContainerExited.value,
  cancelledForCapacity: STATUS_REASONS.cancelledForCapacity.value,
};
const RECLAIMED = { statusReason: REASON.reclaimed };
const CODE_FAILED = { statusReason: REASON.codeFailed, exitCode: 1, reason: 'Essential container in task exited' };

/** The error a throttled or failing service call raises in a Task, with the name Step Functions gives it. */
function serviceError(name: string): Error {
  return Object.assign(new Error(`${name}: Rate exceeded`), { name });
}

function metricsFor(candidate: string, auc: number, extra: Partial<{ logloss: number; gap: number; p99: number }> = {}) {
  const gap = extra.gap ?? 0.02;
  return {
    candidate,
    metrics: { auc, logloss: extra.logloss ?? 0.3 },
    slices: { 'region=eu': { auc }, 'region=us': { auc: auc - gap } },
    latencyMs: { p50: 10, p95: 40, p99: extra.p99 ?? 80 },
    shards: 4,
    metricsUri: `s3://models/evaluations/exec-1/${candidate}/metrics.json`,
    trainingMetrics: { loss: 0.1 },
  };
}

/** Runs one execution; `handlers` override the defaults (everything trains and evaluates fine). */
async function run(handlers: Record<string, Handler> = {}, input: any = { codeVersion: 'c0ffee', trainingImageUri: TRAINING_IMAGE, dataPrefix: 'datasets/fraud/' }) {
  const defaults: Record<string, Handler> = {
    'Prepare job definitions': async () => REVISIONS,
    'Take data version': async () => ({ ...DATA_VERSION, objectCount: 10, totalBytes: 100, created: true }),
    'Check training cache': async (p) => ({ hit: false, cacheKey: `key-${p.candidate}` }),
    'Train on spot': async (p) => batchJobResult(p.JobName, undefined, `spot-${p.JobName}`),
    'Train on demand': async (p) => batchJobResult(p.JobName, undefined, `ondemand-${p.JobName}`),
    'Evaluate': async (p) => ({ JobId: `eval-${p.JobName}`, Status: 'SUCCEEDED' }),
    'Aggregate metrics': async (p) => metricsFor(p.candidate, p.candidate === 'xgb' ? 0.93 : 0.91),
    'Remember the result': async (p) => ({ recorded: `s3://models/training-cache/${p.remember.cacheKey}.json` }),
    'Find the champion': async (p) => {
      expect(p).toEqual({ allowNone: true });
      return null; // the group has no approved model yet
    },
    'Quality gate': async (p) => {
      process.env.GATE_RULES = gateRules;
      return qualityGate(p);
    },
    'Register the winner': async (p) => ({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/7', created: true, approvalStatus: 'PendingManualApproval', candidate: p.winner.candidate }),
  }; return runLocally(definition, input, { ...defaults, ...handlers }, {
    executionId: 'arn:aws:states:us-east-1:123456789012:execution:training:exec-1',
    executionName: 'exec-1',
  });
}

test('the synthesized definition is valid Amazon States Language', () => {
  expect(aslErrors(definition)).toBe('');
});

test('all candidates pass: both train on spot, are evaluated as 4-shard array jobs, and the best is registered', async () => {
  const { output, calls, error } = await run();

  expect(error).toBeUndefined();
  expect(calls['Train on spot']).toHaveLength(2);
  expect(calls['Train on demand']).toBeUndefined();
  const xgbTraining = calls['Train on spot'].find((c) => c.JobName === 'xgb-train');
  const env = Object.fromEntries(xgbTraining.ContainerOverrides.Environment.map((e: any) => [e.Name, e.Value]));
  expect(env).toEqual({
    MLOPS_DATA_URI: expect.stringMatching(/^s3:\/\/Data[A-Z0-9]+\/datasets\/fraud\/$/),
    MLOPS_DATA_VERSION: 'dv-1234',
    MLOPS_DATA_MANIFEST_URI: 's3://data/data-versions/dv-1234.jsonl',
    MLOPS_OUTPUT_URI: expect.stringMatching(/^s3:\/\/Models[A-Z0-9]+\/runs\/exec-1\/xgb\/$/),
    MLOPS_CHECKPOINT_URI: expect.stringMatching(/^s3:\/\/Checkpoints[A-Z0-9]+\/runs\/exec-1\/xgb\/$/),
    MLOPS_CANDIDATE: 'xgb',
    MLOPS_HYPERPARAMETERS: '{"depth":"6","eta":"0.1"}',
    MLOPS_CODE_VERSION: 'c0ffee',
  });
  // Each job runs the revision registered for this execution's image.
  expect(xgbTraining.JobDefinition).toBe(REVISIONS.revisionArns[0]);
  expect(calls['Train on spot'].find((c) => c.JobName === 'mlp-train').JobDefinition).toBe(REVISIONS.revisionArns[1]);
  expect(calls.Evaluate).toHaveLength(2);
  expect(calls.Evaluate[0].ArrayProperties).toEqual({ Size: 4 });
  expect(calls.Evaluate.map((c) => c.JobDefinition)).toEqual([REVISIONS.revisionArns[2], REVISIONS.revisionArns[2]]);
  const evaluationEnv = Object.fromEntries(calls.Evaluate[0].ContainerOverrides.Environment.map((e: any) => [e.Name, e.Value]));
  expect(evaluationEnv.MLOPS_DATA_MANIFEST_URI).toBe('s3://data/data-versions/dv-1234.jsonl');
  expect(calls['Register the winner']).toHaveLength(1);
  const registration = calls['Register the winner'][0];
  expect(registration.winner).toMatchObject({
    candidate: 'xgb',
    status: 'EVALUATED',
    metrics: { auc: 0.93, logloss: 0.3 },
    trainingJobId: 'spot-xgb-train',
    evaluationJobId: 'eval-xgb-evaluate',
    modelDataUrl: expect.stringMatching(/runs\/exec-1\/xgb\/model.tar.gz$/),
  });
  expect(registration).toMatchObject({
    codeVersion: 'c0ffee',
    trainingImageUri: TRAINING_IMAGE,
    evaluationImageUri: TRAINING_IMAGE,
    dataVersion: DATA_VERSION,
    executionId: expect.stringContaining('exec-1'),
  });
  expect(output.decision.rejections).toEqual([{ candidate: 'mlp', reasons: [expect.stringMatching(/lost to xgb/)] }]);
  expect(output.registration.modelPackageArn).toMatch(/model-package\/fraud\/7$/);
});

test('one candidate\'s code fails: it is reported, and the other is still judged and wins', async () => {
  const { output, calls, error } = await run({
    'Train on spot': async (p) => {
      if (p.JobName === 'mlp-train') throw batchJobFailure('mlp-train', [CODE_FAILED]);
      return batchJobResult(p.JobName, undefined, 'spot-xgb');
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Train on demand']).toBeUndefined();
  expect(calls.Evaluate).toHaveLength(1);
  const mlp = output.outcomes.find((o: any) => o.candidate === 'mlp');
  expect(mlp).toMatchObject({ status: 'FAILED', failure: expect.stringContaining('Essential container in task exited') });
  expect(output.decision.winner.candidate).toBe('xgb');
  expect(output.decision.rejections[0].candidate).toBe('mlp');
});

test('spot reclaimed, then success: Batch retried the attempt, so the workflow just goes on', async () => {
  const { output, calls, error } = await run({
    'Train on spot': async (p) => batchJobResult(p.JobName, [RECLAIMED, { statusReason: REASON.codeFailed, exitCode: 0 }], `spot-${p.JobName}`),
  });

  expect(error).toBeUndefined();
  expect(calls['Train on demand']).toBeUndefined();
  expect(output.decision.winner.trainingJobId).toBe('spot-xgb-train');
});

test.each([
  // No attempt ran: the queue's time limit cancelled the job in RUNNABLE.
  ['cancelled after waiting for spot capacity', () => batchJobFailure('xgb-train', [], REASON.cancelledForCapacity)],
  ['reclaimed on its last attempt', () => batchJobFailure('xgb-train', [RECLAIMED, RECLAIMED, RECLAIMED])],
])('spot %s -> the candidate trains again on the on-demand queue', async (_case, failure) => {
  const { output, calls, error } = await run({
    'Train on spot': async (p) => {
      if (p.JobName === 'xgb-train') throw failure();
      return batchJobResult(p.JobName, undefined, `spot-${p.JobName}`);
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Train on demand']).toHaveLength(1);
  expect(calls['Train on demand'][0].JobQueue).toMatch(/^GpusOnDemandJobQueue/);
  // The same revision (the same image) on demand.
  expect(calls['Train on demand'][0].JobDefinition).toBe(REVISIONS.revisionArns[0]);
  expect(calls['Train on spot'][0].JobQueue).toMatch(/^GpusJobQueue/);
  expect(output.decision.winner).toMatchObject({ candidate: 'xgb', trainingJobId: 'ondemand-xgb-train' });
});

test('no candidate passes the gate: the execution fails with QualityGateFailed and every reason', async () => {
  const { calls, error } = await run({
    'Aggregate metrics': async (p) => (p.candidate === 'xgb'
      ? metricsFor('xgb', 0.75) // below the AUC threshold
      : metricsFor('mlp', 0.9, { gap: 0.12, p99: 250 })), // unfair across regions, too slow
  });

  expect(error).toBeDefined();
  expect(error.name).toBe('QualityGateFailed');
  expect(error.message).toMatch(/xgb.*auc 0.75/);
  expect(error.message).toMatch(/mlp.*gap/);
  expect(error.message).toMatch(/mlp.*p99/);
  expect(calls['Register the winner']).toBeUndefined();
});

test('a training-cache hit: no Batch job at all, and the cached model can win', async () => {
  const { output, calls, error } = await run({
    'Check training cache': async (p) => ({
      hit: true,
      cacheKey: `key-${p.candidate}`,
      outcome: {
        candidate: p.candidate,
        configHash: p.configHash,
        status: 'CACHED',
        metrics: { auc: p.candidate === 'xgb' ? 0.92 : 0.9, logloss: 0.3 },
        slices: { 'region=eu': { auc: 0.92 }, 'region=us': { auc: 0.9 } },
        latencyMs: { p99: 50 },
        modelPackageArn: `arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/${p.candidate === 'xgb' ? 3 : 4}`,
        modelDataUrl: 's3://models/runs/old/xgb/model.tar.gz',
      },
    }),
  }, { codeVersion: 'c0ffee', trainingImageUri: TRAINING_IMAGE, dataVersion: DATA_VERSION });

  expect(error).toBeUndefined();
  expect(calls['Take data version']).toBeUndefined();
  expect(calls['Train on spot']).toBeUndefined();
  expect(calls['Train on demand']).toBeUndefined();
  expect(calls.Evaluate).toBeUndefined();
  expect(calls['Aggregate metrics']).toBeUndefined();
  expect(calls['Check training cache'].map((c) => c.dataVersionId)).toEqual(['dv-1234', 'dv-1234']);
  expect(output.decision.winner).toMatchObject({ candidate: 'xgb', status: 'CACHED' });
  expect(calls['Register the winner'][0].winner.status).toBe('CACHED');
});

test('the challenger does not beat the champion by the margin: nothing is registered', async () => {
  const { calls, error } = await run({
    'Find the champion': async () => ({
      modelPackageGroupName: 'fraud',
      modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/2',
      modelPackageVersion: 2,
      customerMetadata: { 'mlops:candidate': 'xgb', 'mlops:metric:auc': '0.925' },
    }),
  });

  expect(error).toBeDefined();
  expect(error.name).toBe('QualityGateFailed');
  expect(error.message).toMatch(/champion/);
  expect(error.message).toMatch(/0.925/);
  expect(calls['Quality gate'][0].champion.modelPackageArn).toMatch(/fraud\/2$/);
  expect(calls['Register the winner']).toBeUndefined();
});

test('a missing metrics file fails that candidate with the object named, not the execution', async () => {
  const { output, error } = await run({
    'Aggregate metrics': async (p) => {
      if (p.candidate === 'mlp') {
        throw Object.assign(new Error('s3://models/evaluations/exec-1/mlp/metrics-2.json does not exist: evaluation shard 2 wrote no metrics'), { name: 'MetricsNotFound' });
      }
      return metricsFor('xgb', 0.93);
    },
  });

  expect(error).toBeUndefined();
  expect(output.outcomes.find((o: any) => o.candidate === 'mlp')).toMatchObject({
    status: 'FAILED',
    failure: expect.stringContaining('metrics-2.json does not exist'),
  });
  expect(output.decision.winner.candidate).toBe('xgb');
});

test('reclaimed once, then the code fails: the final reason decides, so the candidate is not retrained on demand', async () => {
  const { output, calls, error } = await run({
    'Train on spot': async (p) => {
      if (p.JobName === 'xgb-train') throw batchJobFailure('xgb-train', [RECLAIMED, CODE_FAILED]);
      return batchJobResult(p.JobName, undefined, `spot-${p.JobName}`);
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Train on demand']).toBeUndefined();
  const xgb = output.outcomes.find((o: any) => o.candidate === 'xgb');
  expect(xgb).toMatchObject({ status: 'FAILED', failure: expect.stringContaining(REASON.codeFailed) });
  expect(xgb.failureDetail).toMatchObject({ stage: 'Training', statusReason: REASON.codeFailed, attempts: 2, exitCode: 1 });
});

test('a job cancelled for a misconfiguration is not retrained on demand: the on-demand queue has the same instance types', async () => {
  const { calls, error } = await run({
    'Train on spot': async (p) => {
      if (p.JobName === 'xgb-train') throw batchJobFailure('xgb-train', [], STATUS_REASONS.cancelledForJobRequirement.value);
      return batchJobResult(p.JobName, undefined, `spot-${p.JobName}`);
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Train on demand']).toBeUndefined();
});

test.each([
  ['cancelled for capacity', () => batchJobFailure('xgb-evaluate', [], REASON.cancelledForCapacity)],
  ['reclaimed on its last attempt', () => batchJobFailure('xgb-evaluate', [RECLAIMED, RECLAIMED, RECLAIMED])],
])('evaluation on spot %s -> evaluated again on the evaluation queue\'s on-demand queue, and the trained model is kept', async (_c, failure) => {
  const { output, calls, error } = await run({
    'Evaluate': async (p) => {
      if (p.JobName === 'xgb-evaluate') throw failure();
      return { JobId: `eval-${p.JobName}`, Status: 'SUCCEEDED' };
    },
    'Evaluate on demand': async (p) => ({ JobId: `eval-ondemand-${p.JobName}`, Status: 'SUCCEEDED' }),
  });

  expect(error).toBeUndefined();
  expect(calls['Evaluate on demand']).toHaveLength(1);
  expect(calls['Evaluate on demand'][0].JobQueue).toMatch(/^CpusOnDemandJobQueue/);
  expect(calls['Evaluate on demand'][0].ArrayProperties).toEqual({ Size: 4 });
  expect(calls['Evaluate on demand'][0].JobDefinition).toBe(REVISIONS.revisionArns[2]);
  expect(calls.Evaluate[0].JobQueue).toMatch(/^CpusJobQueue/);
  expect(output.decision.winner).toMatchObject({ candidate: 'xgb', trainingJobId: 'spot-xgb-train', evaluationJobId: 'eval-ondemand-xgb-evaluate' });
});

test('an evaluation that fails on its code is not run again on demand', async () => {
  const { output, calls, error } = await run({
    Evaluate: async (p) => {
      if (p.JobName === 'xgb-evaluate') throw batchJobFailure('xgb-evaluate', [CODE_FAILED]);
      return { JobId: `eval-${p.JobName}`, Status: 'SUCCEEDED' };
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Evaluate on demand']).toBeUndefined();
  expect(output.outcomes.find((o: any) => o.candidate === 'xgb')).toMatchObject({ status: 'FAILED', failure: expect.stringMatching(/^Evaluation failed: /) });
});

const NO_WAIT = Object.fromEntries(['Prepare job definitions', 'Take data version', 'Check training cache', 'Train on spot', 'Train on demand', 'Evaluate',
  'Evaluate on demand', 'Aggregate metrics', 'Remember the result', 'Find the champion', 'Quality gate', 'Register the winner'].map((s) => [s, 0]));

async function runFast(handlers: Record<string, Handler>) {
  return runLocally(definition, { codeVersion: 'c0ffee', trainingImageUri: TRAINING_IMAGE, dataVersion: DATA_VERSION }, {
    'Prepare job definitions': async () => REVISIONS,
    'Check training cache': async (p) => ({ hit: false, cacheKey: `key-${p.candidate}` }),
    'Train on spot': async (p) => batchJobResult(p.JobName, undefined, `spot-${p.JobName}`),
    'Evaluate': async (p) => ({ JobId: `eval-${p.JobName}`, Status: 'SUCCEEDED' }),
    'Aggregate metrics': async (p) => metricsFor(p.candidate, p.candidate === 'xgb' ? 0.93 : 0.91),
    'Remember the result': async (p) => ({ recorded: `s3://models/training-cache/${p.remember.cacheKey}.json` }),
    'Find the champion': async () => null,
    'Quality gate': async (p) => {
      process.env.GATE_RULES = gateRules;
      return qualityGate(p);
    },
    'Register the winner': async (p) => ({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/7', candidate: p.winner.candidate }),
    ...handlers,
  }, { executionId: 'arn:aws:states:us-east-1:123456789012:execution:training:exec-1', executionName: 'exec-1', retryIntervalOverrides: NO_WAIT });
}

/** Fails the first `times` calls with the error, then answers like `ok`. */
function flaky(times: number, name: string, ok: Handler): Handler {
  let calls = 0;
  return async (p) => {
    calls += 1;
    if (calls <= times) throw serviceError(name);
    return ok(p);
  };
}

test.each([
  ['Prepare job definitions', 'Lambda.TooManyRequestsException', async () => REVISIONS],
  ['Check training cache', 'Lambda.TooManyRequestsException', async (p: any) => ({ hit: false, cacheKey: `key-${p.candidate}` })],
  ['Train on spot', 'Batch.TooManyRequestsException', async (p: any) => batchJobResult(p.JobName, undefined, `spot-${p.JobName}`)],
  ['Evaluate', 'Batch.ServerException', async (p: any) => ({ JobId: `eval-${p.JobName}`, Status: 'SUCCEEDED' })],
  ['Aggregate metrics', 'Lambda.TooManyRequestsException', async (p: any) => metricsFor(p.candidate, p.candidate === 'xgb' ? 0.93 : 0.91)],
  ['Remember the result', 'Lambda.TooManyRequestsException', async () => ({ recorded: 's3://models/training-cache/k.json' })],
  ['Find the champion', 'Lambda.TooManyRequestsException', async () => null],
  ['Quality gate', 'Lambda.ServiceException', async (p: any) => {
    process.env.GATE_RULES = gateRules;
    return qualityGate(p);
  }],
  ['Register the winner', 'Lambda.TooManyRequestsException', async (p: any) => ({ modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/7', candidate: p.winner.candidate })],
])('%s throttled or failing transiently (%s) is retried, and the winner is still registered', async (state, name, ok) => {
  const { output, calls, error } = await runFast({ [state]: flaky(2, name, ok) });

  expect(error).toBeUndefined();
  expect(calls[state].length).toBeGreaterThanOrEqual(3);
  expect(output.registration.modelPackageArn).toMatch(/fraud\/7$/);
});

test('every evaluated candidate, the loser too, is remembered under its cache key with its outcome', async () => {
  const { calls, error } = await run();

  expect(error).toBeUndefined();
  const records = calls['Remember the result'].map((c) => c.remember);
  expect(records.map((r) => r.cacheKey).sort()).toEqual(['key-mlp', 'key-xgb']);
  expect(records.find((r) => r.cacheKey === 'key-mlp').outcome).toEqual({
    candidate: 'mlp',
    configHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    status: 'EVALUATED',
    metrics: { auc: 0.91, logloss: 0.3 },
    slices: expect.any(Object),
    latencyMs: expect.any(Object),
    metricsUri: 's3://models/evaluations/exec-1/mlp/metrics.json',
    modelDataUrl: expect.stringMatching(/runs\/exec-1\/mlp\/model.tar.gz$/),
    trainingJobId: 'spot-mlp-train',
    evaluationJobId: 'eval-mlp-evaluate',
  });
});

test('a result that cannot be remembered costs a training next time, not the candidate', async () => {
  const { output, calls, error } = await runFast({
    'Remember the result': async () => {
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Remember the result']).toHaveLength(2); // not a transient error: not retried
  expect(output.outcomes.map((o: any) => o.status)).toEqual(['EVALUATED', 'EVALUATED']);
  expect(output.decision.winner.candidate).toBe('xgb');
});

test('the cache was unavailable: there is no key to remember the result by, and the candidate is still judged', async () => {
  const { output, calls, error } = await runFast({
    'Check training cache': async () => {
      throw serviceError('Lambda.TooManyRequestsException');
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Remember the result']).toBeUndefined();
  expect(output.decision.winner.candidate).toBe('xgb');
});

test('a training cache that stays unavailable after its retries counts as a miss: the candidates train', async () => {
  const { output, calls, error } = await runFast({
    'Check training cache': async () => {
      throw serviceError('Lambda.TooManyRequestsException');
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Check training cache']).toHaveLength(2 * 7); // the first call and 6 retries, per candidate
  expect(calls['Train on spot']).toHaveLength(2);
  expect(output.decision.winner.candidate).toBe('xgb');
});

describe('why the run started', () => {
  test('the pipeline\'s trigger reaches the registration (and so the lineage)', async () => {
    const { calls, error } = await run({}, {
      codeVersion: 'c0ffee', trainingImageUri: TRAINING_IMAGE, dataPrefix: 'datasets/fraud/', trigger: 'drift:fraud-prod-drift',
    });
    expect(error).toBeUndefined();
    expect(calls['Register the winner'][0].trigger).toBe('drift:fraud-prod-drift');
  });

  test('an execution started without a trigger (by hand) records manual', async () => {
    const { output, calls, error } = await run();
    expect(error).toBeUndefined();
    expect(calls['Register the winner'][0].trigger).toBe('manual');
    expect(output.trigger).toBe('manual');
  });
});

describe('training metrics', () => {
  const cloudwatch = mockClient(CloudWatchClient);
  const workflow = (() => {
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const gate = Object.values(functions).find((f: any) => f.Properties.Environment?.Variables?.GATE_RULES) as any;
    return gate.Properties.Environment.Variables.METRICS_WORKFLOW as string;
  })();
  beforeEach(() => {
    cloudwatch.reset();
    cloudwatch.on(PutMetricDataCommand).resolves({});
    process.env.METRICS_WORKFLOW = workflow;
  });
  afterEach(() => {
    delete process.env.METRICS_WORKFLOW;
  });

  /** The published values by metric name, checking the namespace and the dimension. */
  function published(): Record<string, number> {
    expect(cloudwatch).toHaveReceivedCommandTimes(PutMetricDataCommand, 1);
    const input = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input;
    expect(input.Namespace).toBe('cdk-mlops/Training');
    for (const datum of input.MetricData!) {
      expect(datum).toMatchObject({ Unit: datum.MetricName!.startsWith('GpuHours') ? 'None' : 'Count', Dimensions: [{ Name: 'Workflow', Value: workflow }] });
    }
    return Object.fromEntries(input.MetricData!.map((d) => [d.MetricName, d.Value]));
  }

  test('spot gave out for one candidate (on demand then), the other\'s code failed: one fallback, one failure', async () => {
    const { output, error } = await run({
      'Train on spot': async (p) => {
        if (p.JobName === 'xgb-train') throw batchJobFailure('xgb-train', [RECLAIMED, RECLAIMED, RECLAIMED]);
        throw batchJobFailure('mlp-train', [CODE_FAILED]);
      },
    });
    expect(error).toBeUndefined();
    expect(output.outcomes.find((o: any) => o.candidate === 'xgb')).toMatchObject({ status: 'EVALUATED', trainedOnDemand: true });
    // xgb (1 GPU): 3 reclaimed spot attempts and 1 on demand; mlp (4 GPUs): 1 spot attempt; 30 minutes each.
    expect(published()).toEqual({
      Candidates: 2,
      CandidatesTrainedOnSpot: 0,
      CandidatesTrainedOnDemand: 1,
      EvaluationsOnDemand: 0,
      CacheHits: 0,
      CandidatesFailed: 1,
      GpuHoursOnSpot: 1.5 + 2,
      GpuHoursOnDemand: 0.5,
    });
  });

  test('both trained on spot', async () => {
    const { output, error } = await run();
    expect(error).toBeUndefined();
    expect(output.outcomes.map((o: any) => o.trainedOnDemand)).toEqual([false, false]);
    expect(published()).toEqual({
      Candidates: 2,
      CandidatesTrainedOnSpot: 2,
      CandidatesTrainedOnDemand: 0,
      EvaluationsOnDemand: 0,
      CacheHits: 0,
      CandidatesFailed: 0,
      GpuHoursOnSpot: 0.5 + 2,
      GpuHoursOnDemand: 0,
    });
  });

  test('an on-demand training whose evaluation then fails still counts as a fallback', async () => {
    const { output, error } = await run({
      'Train on spot': async (p) => {
        if (p.JobName === 'mlp-train') throw batchJobFailure('mlp-train', [], REASON.cancelledForCapacity);
        return batchJobResult(p.JobName, undefined, `spot-${p.JobName}`);
      },
      'Evaluate': async (p) => {
        if (p.JobName === 'mlp-evaluate') throw batchJobFailure('mlp-evaluate', [CODE_FAILED]);
        return { JobId: `eval-${p.JobName}`, Status: 'SUCCEEDED' };
      },
    });
    expect(error).toBeUndefined();
    expect(output.outcomes.find((o: any) => o.candidate === 'mlp')).toMatchObject({ status: 'FAILED', trainedOnDemand: true });
    // mlp's spot job was cancelled in RUNNABLE (no attempt ran): its GPU time is the on-demand job's only.
    expect(published()).toEqual({
      Candidates: 2,
      CandidatesTrainedOnSpot: 1,
      CandidatesTrainedOnDemand: 1,
      EvaluationsOnDemand: 0,
      CacheHits: 0,
      CandidatesFailed: 1,
      GpuHoursOnSpot: 0.5,
      GpuHoursOnDemand: 2,
    });
  });

  test('a cache hit trains nothing and counts as a hit', async () => {
    const { error } = await run({
      'Check training cache': cachedResultOf('xgb'),
    });
    expect(error).toBeUndefined();
    expect(published()).toEqual({
      Candidates: 2,
      CandidatesTrainedOnSpot: 1,
      CandidatesTrainedOnDemand: 0,
      EvaluationsOnDemand: 0,
      CacheHits: 1,
      CandidatesFailed: 0,
      GpuHoursOnSpot: 2,
      GpuHoursOnDemand: 0,
    });
  });

  test('metrics that cannot be published do not fail the gate', async () => {
    cloudwatch.on(PutMetricDataCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const { output, error } = await run();
      expect(error).toBeUndefined();
      expect(output.registration.modelPackageArn).toMatch(/model-package\/fraud\/7$/);
      expect(log).toHaveBeenCalledWith(expect.stringContaining('the training metrics were not published'));
    } finally {
      log.mockRestore();
    }
  });
});
