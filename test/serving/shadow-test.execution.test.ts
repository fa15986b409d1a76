/**
 * The synthesized shadow-test state machine, executed by a real Amazon States Language interpreter
 * (aws-local-stepfunctions), with the SageMaker and CloudWatch tasks answering with the documented fixtures.
 */
import { App, Stack } from 'aws-cdk-lib';
import { ModelEndpoint, ModelImageRepository, ShadowTest } from '../../lib';
import { cloudWatchThrottled, getMetricData } from '../fixtures/aws/cloudwatch';
import { configOrModelNotFound, describeEndpoint, TaskError, VALIDATION_ERROR_NAMES } from '../fixtures/aws/sagemaker';
import {
  CREATE_REQUEST_MEMBERS, describeInferenceExperiment, EXPERIMENT_STATUSES, EXPERIMENT_TYPES, experimentNotFound, experimentRefused,
  SHADOW_METRICS, STOP_REQUEST_MEMBERS, STOP_STATES, stopConflict, VARIANT_ACTIONS,
} from '../fixtures/aws/sagemaker-inference-experiments';
import { THROTTLING_ERRORS } from '../fixtures/aws/step-functions-errors';
import { aslErrors, runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving@sha256:${'c'.repeat(64)}`;
const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:shadow:5a1b2c3d-0000-4c3e-9a1f-2d6b8e4c7a90';
const ENDPOINT = 'fraud-prod';
const CONFIG = 'fraud-prod-0123456789abcdef0123456789abcdef';
const PRODUCTION_MODEL = 'fraud-prod-0123456789abcdef0123456789abcdef';
const { RUNNING: Running, CREATING: Creating, STARTING: Starting } = EXPERIMENT_STATUSES.value;

const stack = new Stack(new App(), 'Test');
const imageRepository = new ModelImageRepository(stack, 'Images', { repositoryName: 'fraud-serving' });
const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository, endpointName: ENDPOINT, production: true });
new ShadowTest(stack, 'Shadow', { endpoint });
const definition = stateMachineDefinition(stack, 'Shadow');
const TASKS = Object.keys(definition.States).filter((s) => definition.States[s].Type === 'Task');

const raise = (e: TaskError) => {
  throw Object.assign(new Error(e.cause), { name: e.name });
};
function failing(n: number, e: TaskError, then: TaskHandler): TaskHandler {
  let left = n;
  return async (p) => (left-- > 0 ? raise(e) : then(p));
}
function answers(...replies: Array<() => any>): TaskHandler {
  let i = 0;
  return async () => replies[Math.min(i++, replies.length - 1)]();
}
const experiment = (status: string) => () => describeInferenceExperiment.value(`${ENDPOINT}-x`, ENDPOINT, status);

/** Metrics as GetMetricData computes them from the queries' expressions (recomputed here from raw counts). */
interface Raw { prodErrors: number; prodCount: number; prodP99: number; shadowErrors: number; shadowCount: number; shadowP99: number }
function metrics(m: Raw): TaskHandler {
  return async () => getMetricData.value({
    shadowInvocations: m.shadowCount || undefined,
    errorIncrease: m.shadowCount && m.prodCount ? m.shadowErrors / m.shadowCount - m.prodErrors / m.prodCount : undefined,
    latencyIncrease: m.shadowP99 && m.prodP99 ? m.shadowP99 / m.prodP99 - 1 : undefined,
  });
}
const GOOD = { prodErrors: 10, prodCount: 10000, prodP99: 50, shadowErrors: 12, shadowCount: 10000, shadowP99: 55 };

const DEFAULTS: Record<string, TaskHandler> = {
  'Look up the endpoint': async () => describeEndpoint.value(ENDPOINT, 'InService', { EndpointConfigName: CONFIG }),
  'Look up the endpoint config': async () => ({
    EndpointConfigName: CONFIG,
    ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: PRODUCTION_MODEL, InstanceType: 'ml.c6i.large', InitialInstanceCount: 2 }],
  }),
  'Create the shadow model': async (p) => ({ ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${p.ModelName}` }),
  'Create the experiment': async (p) => ({ InferenceExperimentArn: `arn:aws:sagemaker:us-east-1:123456789012:inference-experiment/${p.Name}` }),
  'Describe the experiment': answers(experiment(Creating), experiment(Starting), experiment(Running)),
  'Get the metrics': metrics(GOOD),
  'Stop the experiment': async (p) => ({ InferenceExperimentArn: `arn:aws:sagemaker:us-east-1:123456789012:inference-experiment/${p.Name}` }),
  'Delete the shadow model': async () => ({}),
};

async function run(handlers: Record<string, TaskHandler> = {}, input: unknown = { imageUri: IMAGE, modelVersion: '8' }, executionId = EXECUTION_ID) {
  return runLocally(definition, input, { ...DEFAULTS, ...handlers }, {
    executionId,
    executionName: executionId.split(':').pop()!,
    waitTimeOverrides: { 'Wait for the experiment': 0, 'Shadow production': 0, 'Wait to stop it again': 0 },
    retryIntervalOverrides: Object.fromEntries(TASKS.map((t) => [t, 0])),
    state: { EnteredTime: '2026-11-23T11:00:00Z' },
  });
}

/** The shadow was removed and production retained, as the stop's documented actions name them. */
function expectStoppedWithShadowRemoved(calls: Record<string, any[]>, desiredState: string) {
  expect(calls['Stop the experiment']).toHaveLength(1);
  const stop = calls['Stop the experiment'][0];
  for (const key of Object.keys(stop)) expect(STOP_REQUEST_MEMBERS.value).toContain(key);
  expect(stop.ModelVariantActions).toEqual({ AllTraffic: VARIANT_ACTIONS.value.RETAIN, Shadow: VARIANT_ACTIONS.value.REMOVE });
  expect(stop.DesiredState).toBe(desiredState);
  expect(Object.values(STOP_STATES.value)).toContain(desiredState);
}

test('the synthesized definition is valid Amazon States Language', () => {
  expect(aslErrors(definition)).toBe('');
});

test('(a) a shadow as good as production: succeeds; the experiment is stopped with the shadow removed and its model deleted', async () => {
  const { error, calls } = await run();
  expect(error).toBeUndefined();
  const model = calls['Create the shadow model'][0];
  expect(model.ModelName).toMatch(/^fraud-prod-[a-f0-9]{32}$/);
  expect(model.PrimaryContainer).toEqual({ Image: IMAGE });
  const create = calls['Create the experiment'][0];
  for (const key of Object.keys(create)) expect(CREATE_REQUEST_MEMBERS.value.request).toContain(key);
  for (const key of CREATE_REQUEST_MEMBERS.value.required) expect(create).toHaveProperty(key);
  expect(create.Type).toBe(EXPERIMENT_TYPES.value.SHADOW_MODE);
  expect(create.Name).toBe(model.ModelName);
  expect(create.EndpointName).toBe(ENDPOINT);
  expect(create.ModelVariants.map((v: any) => [v.VariantName, v.ModelName])).toEqual([['AllTraffic', PRODUCTION_MODEL], ['Shadow', model.ModelName]]);
  for (const v of create.ModelVariants) {
    expect(Object.keys(v).sort()).toEqual(CREATE_REQUEST_MEMBERS.value.modelVariant);
    expect(Object.keys(v.InfrastructureConfig).sort()).toEqual(CREATE_REQUEST_MEMBERS.value.infrastructure);
    expect(Object.keys(v.InfrastructureConfig.RealTimeInferenceConfig).sort()).toEqual(CREATE_REQUEST_MEMBERS.value.realTime);
  }
  expect(Object.keys(create.ShadowModeConfig).sort()).toEqual(CREATE_REQUEST_MEMBERS.value.shadowModeConfig);
  expect(create.ShadowModeConfig).toEqual({ SourceModelVariantName: 'AllTraffic', ShadowModelVariants: [{ ShadowModelVariantName: 'Shadow', SamplingPercentage: 100 }] });
  expect(calls['Describe the experiment']).toHaveLength(3);
  const queries = calls['Get the metrics'][0].MetricDataQueries;
  const stat = (id: string) => queries.find((q: any) => q.Id === id).MetricStat;
  // The window: from when the experiment ran to when the metrics were read.
  expect(calls['Get the metrics'][0]).toMatchObject({ StartTime: '2026-11-23T11:00:00Z', EndTime: '2026-11-23T11:00:00Z' });
  expect(stat('shadowP99')).toMatchObject({ Stat: 'p99', Metric: { Namespace: 'AWS/SageMaker', MetricName: 'ModelLatency' } });
  expect(stat('shadowP99').Metric.Dimensions).toEqual([{ Name: 'EndpointName', Value: ENDPOINT }, { Name: 'VariantName', Value: 'Shadow' }]);
  expect(stat('prodErrors').Metric).toMatchObject({ MetricName: 'Invocation5XXErrors', Dimensions: [{ Name: 'EndpointName', Value: ENDPOINT }, { Name: 'VariantName', Value: 'AllTraffic' }] });
  // Each metric as SageMaker publishes it: its namespace, its dimension pair, a metric the shadow test dashboard compares,
  // and a statistic it supports (p99 is a percentile).
  for (const query of queries.filter((q: any) => q.MetricStat)) {
    const { Metric: metric, Stat: statistic } = query.MetricStat;
    expect(metric.Namespace).toBe(SHADOW_METRICS.value.namespace);
    expect(metric.Dimensions.map((d: any) => d.Name)).toEqual(SHADOW_METRICS.value.dimensions);
    expect(SHADOW_METRICS.value.dashboard).toContain(metric.MetricName);
    expect(SHADOW_METRICS.value.statistics[metric.MetricName]).toContain(/^p\d+(\.\d+)?$/.test(statistic) ? 'Percentiles' : statistic);
  }
  expectStoppedWithShadowRemoved(calls, 'Completed');
  expect(calls['Delete the shadow model']).toEqual([{ ModelName: model.ModelName }]);
});

test('(b) worse on errors (3 points more than production): ShadowWorse, the experiment stopped and the model deleted', async () => {
  const { error, calls } = await run({ 'Get the metrics': metrics({ ...GOOD, shadowErrors: 310 }) });
  expect(error.name).toBe('ShadowWorse');
  expect(error.message).toMatch(/error rate \[0\.03/);
  expectStoppedWithShadowRemoved(calls, 'Completed');
  expect(calls['Delete the shadow model']).toHaveLength(1);
});

test('the error-rate bound is inclusive: exactly 1 point more passes', async () => {
  const { error } = await run({ 'Get the metrics': metrics({ ...GOOD, prodErrors: 0, shadowErrors: 100, shadowCount: 10000 }) });
  expect(error).toBeUndefined();
});

test('(c) worse on p99 latency (50% above production): ShadowWorse', async () => {
  const { error, calls } = await run({ 'Get the metrics': metrics({ ...GOOD, shadowP99: 75 }) });
  expect(error.name).toBe('ShadowWorse');
  expect(error.message).toMatch(/p99 latency \[0\.5/);
  expectStoppedWithShadowRemoved(calls, 'Completed');
});

test('(d) too few shadow invocations: ShadowInconclusive, the experiment stopped', async () => {
  for (const shadowCount of [99, 0]) {
    const { error, calls } = await run({ 'Get the metrics': metrics({ ...GOOD, shadowErrors: 0, shadowCount }) });
    expect([shadowCount, error.name]).toEqual([shadowCount, 'ShadowInconclusive']);
    expectStoppedWithShadowRemoved(calls, 'Completed');
  }
});

test('(e) experiment creation refused: fails, nothing to stop, and the shadow model is deleted', async () => {
  const refused = experimentRefused.value(ENDPOINT);
  const { error, calls } = await run({ 'Create the experiment': async () => raise(refused) });
  expect(error.name).toBe('ShadowTestFailed');
  expect(error.message).toContain('ResourceInUse');
  expect(calls['Stop the experiment']).toBeUndefined();
  expect(calls['Delete the shadow model']).toEqual([{ ModelName: calls['Create the shadow model'][0].ModelName }]);
});

test('(f) a throttled describe is retried, and the test goes on', async () => {
  const throttled: TaskError = { name: THROTTLING_ERRORS.sagemaker.value[0], cause: 'Rate exceeded' };
  const { error, calls } = await run({ 'Describe the experiment': failing(2, throttled, async () => experiment(Running)()) });
  expect(error).toBeUndefined();
  expect(calls['Describe the experiment']).toHaveLength(3);
});

test('a throttled GetMetricData is retried under its documented name', async () => {
  const { error, calls } = await run({ 'Get the metrics': failing(1, cloudWatchThrottled.value, metrics(GOOD)) });
  expect(error).toBeUndefined();
  expect(calls['Get the metrics']).toHaveLength(2);
});

test('an experiment that fails to start is stopped (cancelled) and the test fails', async () => {
  const { error, calls } = await run({ 'Describe the experiment': answers(experiment(EXPERIMENT_STATUSES.value.CANCELLED)) });
  expect(error.name).toBe('ShadowTestFailed');
  expectStoppedWithShadowRemoved(calls, 'Cancelled');
  expect(calls['Delete the shadow model']).toHaveLength(1);
});

test('metrics refused after the experiment ran: the experiment is still stopped', async () => {
  const { error, calls } = await run({ 'Get the metrics': async () => raise({ name: 'CloudWatch.InvalidParameterValueException', cause: 'bad query' }) });
  expect(error.name).toBe('ShadowTestFailed');
  expectStoppedWithShadowRemoved(calls, 'Cancelled');
});

test('a refused stop fails with ExperimentNotStopped and the command to stop it', async () => {
  const { error } = await run({ 'Stop the experiment': async () => raise({ name: 'SageMaker.ConflictException', cause: 'conflict' }) });
  expect(error.name).toBe('ExperimentNotStopped');
  expect(error.message).toContain('aws sagemaker stop-inference-experiment --name fraud-prod-');
});

test('production without errors data or latency cannot fail the comparison: a shadow with enough traffic passes', async () => {
  const { error } = await run({ 'Get the metrics': metrics({ ...GOOD, prodCount: 0, prodP99: 0 }) });
  expect(error).toBeUndefined();
});

test('a model that cannot be deleted leaves the verdict, and the cause names the model', async () => {
  const { error, calls } = await run({
    'Get the metrics': metrics({ ...GOOD, shadowErrors: 310 }),
    'Delete the shadow model': async () => raise({ name: 'SageMaker.SageMakerException', cause: 'denied' }),
  });
  expect(error.name).toBe('ShadowWorse');
  expect(error.message).toContain(`The shadow model ${calls['Create the shadow model'][0].ModelName} was not deleted: denied`);
});

describe('clean-up of a stopped or timed-out execution', () => {
  const ABANDONED_ID = 'arn:aws:states:us-east-1:123456789012:execution:shadow:9f8e7d6c-1111-4b2a-8c3d-4e5f6a7b8c9d';
  const cleanup = { cleanup: true, executionArn: ABANDONED_ID };
  const CLEANUP_TASKS = { 'Stop the abandoned experiment': async () => ({}), 'Describe the abandoned experiment': answers(experiment(Running)), 'Delete the abandoned model': async () => ({}) };
  const abandonedName = async () => {
    // The name the abandoned execution gave its experiment and its shadow model.
    const { calls } = await run({}, { imageUri: IMAGE, modelVersion: '8' }, ABANDONED_ID);
    expect(calls['Create the experiment'][0].Name).toBe(calls['Create the shadow model'][0].ModelName);
    return calls['Create the shadow model'][0].ModelName as string;
  };
  const cleanUp = (handlers: Record<string, TaskHandler> = {}) => run({ ...CLEANUP_TASKS, ...handlers }, cleanup, EXECUTION_ID);

  test('stops the abandoned experiment (shadow removed, production retained), then deletes its shadow model', async () => {
    const name = await abandonedName();
    const { calls, error, output } = await cleanUp();

    expect(error).toBeUndefined();
    expect(output.cleanup).toBe(true);
    expect(calls['Create the shadow model']).toBeUndefined();
    expect(calls['Stop the abandoned experiment']).toHaveLength(1);
    const stop = calls['Stop the abandoned experiment'][0];
    for (const key of Object.keys(stop)) expect(STOP_REQUEST_MEMBERS.value).toContain(key);
    expect(stop).toMatchObject({
      Name: name,
      ModelVariantActions: { AllTraffic: VARIANT_ACTIONS.value.RETAIN, Shadow: VARIANT_ACTIONS.value.REMOVE },
      DesiredState: STOP_STATES.value.CANCELLED,
    });
    expect(stop.Reason).toContain(ABANDONED_ID);
    expect(calls['Describe the abandoned experiment']).toBeUndefined();
    expect(calls['Delete the abandoned model']).toEqual([{ ModelName: name }]);
  });

  test.each([EXPERIMENT_STATUSES.value.COMPLETED, EXPERIMENT_STATUSES.value.CANCELLED, EXPERIMENT_STATUSES.value.STOPPING])(
    'an experiment that is already %s: the refused stop is not an error, and the model is still deleted', async (status) => {
      const name = await abandonedName();
      const { calls, error } = await cleanUp({
        'Stop the abandoned experiment': async () => raise(stopConflict.value(name)),
        'Describe the abandoned experiment': answers(experiment(status)),
      });

      expect(error).toBeUndefined();
      expect(calls['Describe the abandoned experiment']).toEqual([{ Name: name }]);
      expect(calls['Delete the abandoned model']).toEqual([{ ModelName: name }]);
    });

  test.each(VALIDATION_ERROR_NAMES.value)('a model that does not exist (not found as %s): succeeds', async (errorName) => {
    const name = await abandonedName();
    const { error, output } = await cleanUp({ 'Delete the abandoned model': async () => raise(configOrModelNotFound.value('model', name, errorName)) });

    expect(error).toBeUndefined();
    expect(output.cleanup).toBe(true);
  });

  test('an execution stopped before it created anything: experiment and model not found, succeeds', async () => {
    const name = await abandonedName();
    const { calls, error } = await cleanUp({
      'Stop the abandoned experiment': async () => raise(experimentNotFound.value(name)),
      'Delete the abandoned model': async () => raise(configOrModelNotFound.value('model', name)),
    });

    expect(error).toBeUndefined();
    expect(calls['Describe the abandoned experiment']).toBeUndefined();
    // The generic name is retried a few times first (it may carry a throttle), then read as not found.
    expect(calls['Delete the abandoned model'][0]).toEqual({ ModelName: name });
  });

  test('a throttled stop is retried', async () => {
    const throttled: TaskError = { name: THROTTLING_ERRORS.sagemaker.value[0], cause: 'Rate exceeded' };
    const { calls, error } = await cleanUp({ 'Stop the abandoned experiment': failing(2, throttled, async () => ({})) });

    expect(error).toBeUndefined();
    expect(calls['Stop the abandoned experiment']).toHaveLength(3);
  });

  test('an experiment still being created when the stop is refused: stopped on a later try', async () => {
    const name = await abandonedName();
    const { calls, error } = await cleanUp({
      'Stop the abandoned experiment': failing(1, stopConflict.value(name), async () => ({})),
      'Describe the abandoned experiment': answers(experiment(Creating)),
    });

    expect(error).toBeUndefined();
    expect(calls['Stop the abandoned experiment']).toHaveLength(2);
    expect(calls['Delete the abandoned model']).toHaveLength(1);
  });

  test('a running experiment whose stop is refused for good: ExperimentNotStopped with the command, never "Cleaned up"', async () => {
    const name = await abandonedName();
    const { calls, error, output } = await cleanUp({ 'Stop the abandoned experiment': async () => raise(stopConflict.value(name)) });

    expect(output).toBeUndefined();
    expect(error.name).toBe('ExperimentNotStopped');
    expect(error.message).toContain(`aws sagemaker stop-inference-experiment --name ${name} --model-variant-actions AllTraffic=Retain,Shadow=Remove`);
    expect(calls['Stop the abandoned experiment'].length).toBeGreaterThan(1);
    expect(calls['Delete the abandoned model']).toBeUndefined();
  });

  test('a model that cannot be deleted: ShadowModelNotDeleted with the command', async () => {
    const name = await abandonedName();
    const { error } = await cleanUp({ 'Delete the abandoned model': async () => raise({ name: VALIDATION_ERROR_NAMES.value[1], cause: 'denied' }) });

    expect(error.name).toBe('ShadowModelNotDeleted');
    expect(error.message).toContain(`aws sagemaker delete-model --model-name ${name}`);
  });
});
