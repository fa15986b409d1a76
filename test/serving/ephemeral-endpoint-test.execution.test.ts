/**
 * The synthesized ephemeral staging state machine, executed by a real Amazon States Language interpreter
 * (aws-local-stepfunctions). The SageMaker SDK tasks and the nested test execution are replaced by local functions,
 * by state name, answering with the documented SageMaker fixtures; the point is that every path deletes what it
 * created, and never leaves a billed endpoint without saying so.
 */
import { App, Stack } from 'aws-cdk-lib';
import { EndpointTestRunner, EphemeralEndpointTest, ModelImageRepository, OnDemandEndpoint } from '../../lib';
import {
  accessDenied, configOrModelNotFound, describeEndpoint, endpointArn, endpointInProgress, endpointNotFound, PING_FAILURE_REASON,
  resourceLimitExceeded, TaskError, throttled, VALIDATION_ERROR_NAMES,
} from '../fixtures/aws/sagemaker';
import { aslErrors, runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const NEW_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving@sha256:${'b'.repeat(64)}`;
const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:staging:0f8e2c1a-5b7d-4c3e-9a1f-2d6b8e4c7a90';
const ABANDONED_ID = 'arn:aws:states:us-east-1:123456789012:execution:staging:aaaa1111-5b7d-4c3e-9a1f-2d6b8e4c7a90';
const ENDPOINT = 'fraud-staging';
const DELETE_COMMAND = 'aws sagemaker delete-endpoint --endpoint-name fraud-staging';

const stack = new Stack(new App(), 'Test');
const endpoint = new OnDemandEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), endpointName: ENDPOINT, instanceType: 'ml.c6i.large' });
const runner = new EndpointTestRunner(stack, 'StagingTest', { endpoint, samples: [{ name: 'typical', body: '{"amount": 12.5}' }] });
new EphemeralEndpointTest(stack, 'Ephemeral', { endpoint, test: runner });
const definition = stateMachineDefinition(stack, 'Ephemeral');
const MAX_CHECKS = definition.States['Out of time?'].Choices[0].NumericGreaterThanEquals;
const TASKS = Object.keys(definition.States).filter((s) => definition.States[s].Type === 'Task');
const SAGEMAKER_TASKS = TASKS.filter((s) => definition.States[s].Resource.includes(':sagemaker:'));

const raise = (e: TaskError) => {
  throw Object.assign(new Error(e.cause), { name: e.name });
};
const fails = (e: TaskError): TaskHandler => async () => raise(e);
/** Answers, one per call; the last one repeats. */
function answers(...replies: Array<() => any>): TaskHandler {
  let i = 0;
  return async () => replies[Math.min(i++, replies.length - 1)]();
}
/** Fails with `e` for the first `n` calls, then does what `then` does. */
function failing(n: number, e: TaskError, then: TaskHandler): TaskHandler {
  let left = n;
  return async (p) => (left-- > 0 ? raise(e) : then(p));
}
const { value: described } = describeEndpoint;
const creating = () => described(ENDPOINT, 'Creating');
const inService = () => described(ENDPOINT, 'InService');
const notFound = endpointNotFound.value(ENDPOINT);
const throttle = throttled.value();

/** What SageMaker and the nested test answer when all goes well. */
const DEFAULTS: Record<string, TaskHandler> = {
  'Look for a leftover endpoint': fails(notFound),
  'Create the model': async () => ({}),
  'Create the endpoint config': async () => ({}),
  'Delete the leftover endpoint': async () => ({}),
  'Create the endpoint': async () => ({ EndpointArn: endpointArn(ENDPOINT) }),
  'Describe the endpoint': answers(creating, creating, inService),
  'Test the endpoint': async () => ({ Status: 'SUCCEEDED' }),
  'Describe before deleting': async () => inService(),
  'Delete the endpoint': async () => ({}),
  'Delete the endpoint config': async () => ({}),
  'Delete the model': async () => ({}),
};

async function run(handlers: Record<string, TaskHandler>, input: any = { imageUri: NEW_IMAGE, modelVersion: '7' }, executionId = EXECUTION_ID) {
  // 'Describe the endpoint' keeps state between calls: a fresh one per run.
  const fresh = { ...DEFAULTS, 'Describe the endpoint': answers(creating, creating, inService) };
  return runLocally(definition, input, { ...fresh, ...handlers }, {
    executionId,
    executionName: executionId.split(':').pop()!,
    waitTimeOverrides: { 'Wait for the endpoint': 0, 'Wait for the leftover': 0, 'Wait until it can be deleted': 0 },
    retryIntervalOverrides: Object.fromEntries(TASKS.map((t) => [t, 0])),
  });
}

/** Asserts the endpoint, the configuration and the model of this execution were all deleted (or their deletion tried). */
function expectAllDeleted(calls: Record<string, any[]>, name: string = calls['Create the model'][0].ModelName) {
  expect(calls['Delete the endpoint']?.[0]).toEqual({ EndpointName: ENDPOINT });
  expect(calls['Delete the endpoint config']?.[0]).toEqual({ EndpointConfigName: name });
  expect(calls['Delete the model']?.[0]).toEqual({ ModelName: name });
}

test('the synthesized definition is valid Amazon States Language', () => {
  expect(aslErrors(definition)).toBe('');
});

test('created, in service, tested, then everything deleted', async () => {
  const { calls, error, output } = await run({});

  expect(error).toBeUndefined();
  const model = calls['Create the model'][0];
  expect(model.ModelName).toMatch(/^fraud-staging-[a-f0-9]{32}$/);
  expect(model.PrimaryContainer).toEqual({ Image: NEW_IMAGE });
  const config = calls['Create the endpoint config'][0];
  expect(config).toMatchObject({ EndpointConfigName: model.ModelName });
  expect(config.ProductionVariants[0]).toMatchObject({ VariantName: 'AllTraffic', ModelName: model.ModelName, InstanceType: 'ml.c6i.large', InitialInstanceCount: 1 });
  expect(calls['Create the endpoint'][0]).toMatchObject({ EndpointName: ENDPOINT, EndpointConfigName: model.ModelName });
  expect(calls['Create the endpoint'][0].Tags).toContainEqual({ Key: 'mlops:deployment', Value: EXECUTION_ID });
  expect(calls['Describe the endpoint']).toHaveLength(3);
  expect(calls['Test the endpoint']).toHaveLength(1);
  expect(calls['Test the endpoint'][0].Input).toMatchObject({ endpointName: ENDPOINT, modelVersion: '7' });
  expectAllDeleted(calls);
  expect(calls['Delete the endpoint']).toHaveLength(1);
  expect(output.outcome).toBeUndefined();
});

test('a failed test still deletes everything, then fails with EndpointTestFailed and the report', async () => {
  const { calls, error } = await run({
    'Test the endpoint': fails({ name: 'States.TaskFailed', cause: '{"Error":"EndpointTestFailed","Cause":"2 of 100 calls failed; p99 412 ms > 300 ms"}' }),
  });

  expect(error.name).toBe('EndpointTestFailed');
  expect(error.message).toMatch(/staging test of endpoint fraud-staging failed: .*p99 412 ms > 300 ms/);
  expectAllDeleted(calls);
});

test('an endpoint that fails to come into service is deleted; DeploymentFailed with the reason', async () => {
  const { calls, error } = await run({
    'Describe the endpoint': answers(creating, () => described(ENDPOINT, 'Failed', { FailureReason: PING_FAILURE_REASON.value })),
  });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toBe(`Endpoint fraud-staging is Failed: ${PING_FAILURE_REASON.value}`);
  expect(calls['Test the endpoint']).toBeUndefined();
  expectAllDeleted(calls);
});

test('an endpoint still creating after the creation timeout is deleted once SageMaker allows it; DeploymentTimedOut', async () => {
  const failed = () => described(ENDPOINT, 'Failed', { FailureReason: PING_FAILURE_REASON.value });
  const { calls, error } = await run({
    'Describe the endpoint': async () => creating(),
    // SageMaker refuses to delete an endpoint while it is being created: the deletion waits for it to fail.
    'Describe before deleting': answers(creating, creating, failed),
  });

  expect(error.name).toBe('DeploymentTimedOut');
  expect(error.message).toMatch(new RegExp(`still Creating after ${MAX_CHECKS} checks 30 seconds apart`));
  expect(calls['Describe the endpoint']).toHaveLength(MAX_CHECKS + 1);
  expect(calls['Describe before deleting']).toHaveLength(3);
  expectAllDeleted(calls);
});

test('an endpoint SageMaker is deleting already is not deleted again', async () => {
  const { calls, error } = await run({ 'Describe before deleting': async () => described(ENDPOINT, 'Deleting') });

  expect(error).toBeUndefined();
  expect(calls['Delete the endpoint']).toBeUndefined();
  expect(calls['Delete the endpoint config']).toHaveLength(1);
  expect(calls['Delete the model']).toHaveLength(1);
});

test('CreateEndpoint refused (a quota): the configuration and the model are deleted; DeploymentFailed', async () => {
  const { calls, error } = await run({
    'Create the endpoint': fails(resourceLimitExceeded.value('ml.c6i.large')),
    'Describe before deleting': fails(notFound),
  });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toMatch(/Creating endpoint fraud-staging failed: The account-level service limit 'ml.c6i.large for endpoint usage'/);
  expect(calls['Create the endpoint']).toHaveLength(1);
  expect(calls['Describe the endpoint']).toBeUndefined();
  expect(calls['Delete the endpoint']).toBeUndefined();
  expect(calls['Delete the endpoint config']).toHaveLength(1);
  expect(calls['Delete the model']).toHaveLength(1);
});

test('CreateModel refused: only the model is cleaned up, nothing was created', async () => {
  const { calls, error } = await run({ 'Create the model': fails(accessDenied.value('iam:PassRole', 'arn:aws:iam::123456789012:role/StagingRole')) });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toMatch(/Creating the model fraud-staging-[a-f0-9]{32} failed: User: .* is not authorized to perform: iam:PassRole/);
  expect(calls['Create the endpoint config']).toBeUndefined();
  expect(calls['Create the endpoint']).toBeUndefined();
  expect(calls['Delete the endpoint']).toBeUndefined();
  expect(calls['Delete the model']).toHaveLength(1);
});

test('a leftover endpoint of an earlier run is deleted and waited for before the new one is created', async () => {
  const { calls, error } = await run({
    'Look for a leftover endpoint': answers(inService, () => described(ENDPOINT, 'Deleting'), () => raise(notFound)),
  });

  expect(error).toBeUndefined();
  // In service, Deleting, then "not found" (retried 3 times under the generic name).
  expect(calls['Look for a leftover endpoint']).toHaveLength(2 + 4);
  expect(calls['Delete the leftover endpoint']).toEqual([{ EndpointName: ENDPOINT }]);
  expect(calls['Create the endpoint']).toHaveLength(1);
});

test('a leftover that cannot be deleted ends the run before anything is created, with the delete command', async () => {
  const { calls, error } = await run({
    'Look for a leftover endpoint': async () => inService(),
    'Delete the leftover endpoint': fails(accessDenied.value('sagemaker:DeleteEndpoint', endpointArn(ENDPOINT))),
  });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toContain(`exists from an earlier run and could not be deleted (it is billed while it exists: delete it by hand (${DELETE_COMMAND})): User:`);
  expect(calls['Create the model']).toBeUndefined();
});

test('an endpoint that cannot be deleted: the config and the model are still deleted, then EndpointNotDeleted with the command', async () => {
  const { calls, error } = await run({ 'Delete the endpoint': fails(accessDenied.value('sagemaker:DeleteEndpoint', endpointArn(ENDPOINT))) });

  expect(error.name).toBe('EndpointNotDeleted');
  expect(error.message).toMatch(new RegExp(`^Endpoint fraud-staging could not be deleted and is billed while it exists: delete it by hand \\(${DELETE_COMMAND}\\)\\. User:`));
  // The generic name: three short retries (it may be a throttle).
  expect(calls['Delete the endpoint']).toHaveLength(4);
  expectAllDeleted(calls);
});

test('an endpoint not deleted after a failed test: EndpointNotDeleted first, the test\'s failure in the cause', async () => {
  const { calls, error } = await run({
    'Test the endpoint': fails({ name: 'States.TaskFailed', cause: '{"Error":"EndpointTestFailed","Cause":"p99 412 ms > 300 ms"}' }),
    'Delete the endpoint': fails(throttle),
  });

  expect(error.name).toBe('EndpointNotDeleted');
  expect(error.message).toContain(`delete it by hand (${DELETE_COMMAND})`);
  expect(error.message).toMatch(/Before that: EndpointTestFailed: The staging test of endpoint fraud-staging failed: .*p99 412 ms/);
  expectAllDeleted(calls);
});

test('SageMaker refuses the delete while the endpoint is in progress: it waits, then deletes', async () => {
  // The refusal arrives under the generic name, which is retried 3 times (it may be a throttle): 4 refusals end the call.
  const { calls, error } = await run({
    'Delete the endpoint': failing(4, endpointInProgress.value(ENDPOINT), async () => ({})),
    'Describe before deleting': answers(inService, () => described(ENDPOINT, 'Updating'), inService),
  });

  expect(error).toBeUndefined();
  expect(calls['Delete the endpoint']).toHaveLength(5);
  expect(calls['Describe before deleting']).toHaveLength(3);
  expectAllDeleted(calls);
});

describe('throttling', () => {
  test.each(SAGEMAKER_TASKS.filter((t) => !/leftover|abandoned/.test(t)))('%s throttled once, then answering: the run succeeds and deletes everything', async (task) => {
    const { calls, error } = await run({ [task]: failing(1, throttle, DEFAULTS[task]) });

    expect(error).toBeUndefined();
    expect(calls[task].length).toBeGreaterThanOrEqual(2);
    expectAllDeleted(calls);
  });

  test('the leftover lookup throttled once: the run goes on', async () => {
    const { calls, error } = await run({ 'Look for a leftover endpoint': failing(1, throttle, DEFAULTS['Look for a leftover endpoint']) });
    expect(error).toBeUndefined();
    // One throttle, then "not found" under the generic name: retried 3 times before the Choice reads its cause.
    expect(calls['Look for a leftover endpoint']).toHaveLength(1 + 4);
    expectAllDeleted(calls);
  });

  test('the nested test execution throttled once: the test runs', async () => {
    const { calls, error } = await run({
      'Test the endpoint': failing(1, { name: 'StepFunctions.ThrottlingException', cause: 'Rate exceeded' }, DEFAULTS['Test the endpoint']),
    });
    expect(error).toBeUndefined();
    expect(calls['Test the endpoint']).toHaveLength(2);
  });

  test('the creation check throttled for three whole checks: the creation is followed on', async () => {
    const { calls, error } = await run({ 'Describe the endpoint': answers(creating, ...Array(3 * 7).fill(() => raise(throttle)), inService) });

    expect(error).toBeUndefined();
    expect(calls['Test the endpoint']).toHaveLength(1);
    expectAllDeleted(calls);
  });

  test('the status check before deleting throttled for good: DeleteEndpoint is still called', async () => {
    const { calls, error } = await run({ 'Describe before deleting': fails(throttle) });

    expect(error).toBeUndefined();
    expect(calls['Describe before deleting']).toHaveLength(7);
    expectAllDeleted(calls);
  });

  test.each(['SageMaker.ThrottlingException', VALIDATION_ERROR_NAMES.value[1]])(
    'every delete throttled for good (%s): all three deletions tried, then EndpointNotDeleted with the command', async (name) => {
      const forever = fails(throttled.value(name));
      const { calls, error } = await run({
        'Describe before deleting': forever, 'Delete the endpoint': forever, 'Delete the endpoint config': forever, 'Delete the model': forever,
      });

      expect(error.name).toBe('EndpointNotDeleted');
      expect(error.message).toContain(`delete it by hand (${DELETE_COMMAND})`);
      expect(error.message).toContain('Rate exceeded');
      expectAllDeleted(calls);
    });
});

describe('clean-up of an abandoned execution', () => {
  const abandonedName = async () => {
    // The name the abandoned execution gave its model and configuration.
    const { calls } = await run({}, { imageUri: NEW_IMAGE, modelVersion: '6' }, ABANDONED_ID);
    return calls['Create the model'][0].ModelName as string;
  };
  const cleanup = { cleanup: true, executionArn: ABANDONED_ID };

  test('deletes the endpoint while it runs the abandoned configuration, then the configuration and the model', async () => {
    const name = await abandonedName();
    const { calls, error, output } = await run({
      'Describe the abandoned endpoint': async () => described(ENDPOINT, 'InService', { EndpointConfigName: name }),
    }, cleanup);

    expect(error).toBeUndefined();
    expect(output.cleanup).toBe(true);
    expect(calls['Create the model']).toBeUndefined();
    expect(calls['Delete the endpoint']).toEqual([{ EndpointName: ENDPOINT }]);
    expect(calls['Delete the endpoint config']).toEqual([{ EndpointConfigName: name }]);
    expect(calls['Delete the model']).toEqual([{ ModelName: name }]);
  });

  test('the abandoned endpoint\'s check throttled once: it is still deleted', async () => {
    const name = await abandonedName();
    const { calls, error } = await run({
      'Describe the abandoned endpoint': failing(1, throttle, async () => described(ENDPOINT, 'InService', { EndpointConfigName: name })),
    }, cleanup);

    expect(error).toBeUndefined();
    expectAllDeleted(calls, name);
  });

  test('the check throttled for good: never "Cleaned up", EndpointNotDeleted with the command; the config and model deleted', async () => {
    const name = await abandonedName();
    const { calls, error, output } = await run({ 'Describe the abandoned endpoint': fails(throttle) }, cleanup);

    expect(output).toBeUndefined();
    expect(error.name).toBe('EndpointNotDeleted');
    expect(error.message).toMatch(new RegExp(`^Could not check whether endpoint fraud-staging still runs the abandoned configuration ${name}: Rate exceeded`));
    expect(error.message).toContain(`delete it by hand (${DELETE_COMMAND})`);
    expect(calls['Delete the endpoint config']).toEqual([{ EndpointConfigName: name }]);
    expect(calls['Delete the model']).toEqual([{ ModelName: name }]);
  });

  test('leaves an endpoint that a newer run created alone', async () => {
    const { calls, error } = await run({
      'Describe the abandoned endpoint': async () => described(ENDPOINT, 'Creating', { EndpointConfigName: 'fraud-staging-newer' }),
    }, cleanup);

    expect(error).toBeUndefined();
    expect(calls['Delete the endpoint']).toBeUndefined();
    expect(calls['Delete the model']).toHaveLength(1);
  });

  test.each(VALIDATION_ERROR_NAMES.value)('succeeds when nothing is left (not found as %s)', async (name) => {
    const { calls, error } = await run({
      'Describe the abandoned endpoint': fails(endpointNotFound.value(ENDPOINT, name)),
      'Delete the endpoint config': fails(configOrModelNotFound.value('endpoint configuration', 'fraud-staging-x', name)),
      'Delete the model': fails(configOrModelNotFound.value('model', 'fraud-staging-x', name)),
    }, cleanup);

    expect(error).toBeUndefined();
    expect(calls['Delete the endpoint']).toBeUndefined();
  });
});
