/**
 * The synthesized ephemeral staging state machine, executed by a real Amazon States Language interpreter
 * (aws-local-stepfunctions). The SageMaker SDK tasks and the nested test execution are replaced by local functions,
 * by state name; the point is that every path deletes what it created.
 */
import { App, Stack } from 'aws-cdk-lib';
import { EndpointTestRunner, EphemeralEndpointTest, ModelEndpoint } from '../../lib';
import { aslErrors, runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving@sha256:${'a'.repeat(64)}`;
const NEW_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving@sha256:${'b'.repeat(64)}`;
const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:staging:0f8e2c1a-5b7d-4c3e-9a1f-2d6b8e4c7a90';
const ABANDONED_ID = 'arn:aws:states:us-east-1:123456789012:execution:staging:aaaa1111-5b7d-4c3e-9a1f-2d6b8e4c7a90';

const stack = new Stack(new App(), 'Test');
const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageUri: IMAGE, endpointName: 'fraud-staging', instanceType: 'ml.c6i.large', onDemand: true });
const runner = new EndpointTestRunner(stack, 'StagingTest', { endpoint, samples: [{ name: 'typical', body: '{"amount": 12.5}' }] });
new EphemeralEndpointTest(stack, 'Ephemeral', { endpoint, test: runner });
const definition = stateMachineDefinition(stack, 'Ephemeral');
const MAX_CHECKS = definition.States['Out of time?'].Choices[0].NumericGreaterThanEquals;

const notFound = (what = 'fraud-staging') =>
  Object.assign(new Error(`Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/${what}".`), { name: 'SageMaker.SageMakerException' });
const fails = (name: string, message: string): TaskHandler => async () => {
  throw Object.assign(new Error(message), { name });
};
/** DescribeEndpoint answers, one per call; the last one repeats. */
function answers(...replies: Array<() => any>): TaskHandler {
  let i = 0;
  return async () => replies[Math.min(i++, replies.length - 1)]();
}
const creating = () => ({ EndpointName: 'fraud-staging', EndpointStatus: 'Creating' });
const inService = () => ({ EndpointName: 'fraud-staging', EndpointStatus: 'InService' });

async function run(handlers: Record<string, TaskHandler>, input: any = { imageUri: NEW_IMAGE, modelVersion: '7' }, executionId = EXECUTION_ID) {
  const defaults: Record<string, TaskHandler> = {
    'Look for a leftover endpoint': fails('SageMaker.SageMakerException', notFound().message),
    'Create the model': async () => ({}),
    'Create the endpoint config': async () => ({}),
    'Create the endpoint': async () => ({ EndpointArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-staging' }),
    'Describe the endpoint': answers(creating, creating, inService),
    'Test the endpoint': async () => ({ Status: 'SUCCEEDED' }),
    'Describe before deleting': async () => inService(),
    'Delete the endpoint': async () => ({}),
    'Delete the endpoint config': async () => ({}),
    'Delete the model': async () => ({}),
  };
  return runLocally(definition, input, { ...defaults, ...handlers }, {
    executionId,
    executionName: executionId.split(':').pop()!,
    waitTimeOverrides: { 'Wait for the endpoint': 0, 'Wait for the leftover': 0, 'Wait until it can be deleted': 0 },
    retryIntervalOverrides: { 'Describe the endpoint': 0, 'Delete the endpoint': 0, 'Describe before deleting': 0 },
  });
}

/** Asserts the endpoint, the configuration and the model of this execution were all deleted. */
function expectAllDeleted(calls: Record<string, any[]>) {
  const name = calls['Create the model'][0].ModelName;
  expect(calls['Delete the endpoint']).toEqual([{ EndpointName: 'fraud-staging' }]);
  expect(calls['Delete the endpoint config']).toEqual([{ EndpointConfigName: name }]);
  expect(calls['Delete the model']).toEqual([{ ModelName: name }]);
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
  expect(calls['Create the endpoint'][0]).toMatchObject({ EndpointName: 'fraud-staging', EndpointConfigName: model.ModelName });
  expect(calls['Create the endpoint'][0].Tags).toContainEqual({ Key: 'mlops:deployment', Value: EXECUTION_ID });
  expect(calls['Describe the endpoint']).toHaveLength(3);
  expect(calls['Test the endpoint']).toHaveLength(1);
  expect(calls['Test the endpoint'][0].Input).toMatchObject({ endpointName: 'fraud-staging', modelVersion: '7' });
  expectAllDeleted(calls);
  expect(output.outcome).toBeUndefined();
});

test('a failed test still deletes everything, then fails with EndpointTestFailed and the report', async () => {
  const { calls, error } = await run({
    'Test the endpoint': fails('States.TaskFailed', '{"Error":"EndpointTestFailed","Cause":"2 of 100 calls failed; p99 412 ms > 300 ms"}'),
  });

  expect(error.name).toBe('EndpointTestFailed');
  expect(error.message).toMatch(/staging test of endpoint fraud-staging failed: .*p99 412 ms > 300 ms/);
  expectAllDeleted(calls);
});

test('an endpoint that fails to come into service is deleted; DeploymentFailed with the reason', async () => {
  const { calls, error } = await run({
    'Describe the endpoint': answers(creating, () => ({ EndpointName: 'fraud-staging', EndpointStatus: 'Failed', FailureReason: 'The primary container did not pass the ping health check.' })),
  });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toMatch(/fraud-staging is Failed: The primary container did not pass the ping health check/);
  expect(calls['Test the endpoint']).toBeUndefined();
  expectAllDeleted(calls);
});

test('an endpoint still creating after the creation timeout is deleted once SageMaker allows it; DeploymentTimedOut', async () => {
  const failed = () => ({ EndpointName: 'fraud-staging', EndpointStatus: 'Failed', FailureReason: 'Request to service failed.' });
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
  const { calls, error } = await run({
    'Describe before deleting': async () => ({ EndpointName: 'fraud-staging', EndpointStatus: 'Deleting' }),
  });

  expect(error).toBeUndefined();
  expect(calls['Delete the endpoint']).toBeUndefined();
  expect(calls['Delete the endpoint config']).toHaveLength(1);
  expect(calls['Delete the model']).toHaveLength(1);
});

test('CreateEndpoint refused (a quota): the configuration and the model are deleted; DeploymentFailed', async () => {
  const { calls, error } = await run({
    'Create the endpoint': fails('SageMaker.ResourceLimitExceeded', 'The account-level service limit for ml.c6i.large is 0 Instances'),
    'Describe before deleting': fails('SageMaker.SageMakerException', notFound().message),
  });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toMatch(/Creating endpoint fraud-staging failed: The account-level service limit/);
  expect(calls['Describe the endpoint']).toBeUndefined();
  expect(calls['Delete the endpoint']).toBeUndefined();
  expect(calls['Delete the endpoint config']).toHaveLength(1);
  expect(calls['Delete the model']).toHaveLength(1);
});

test('CreateModel refused: only the model is cleaned up, nothing was created', async () => {
  const { calls, error } = await run({ 'Create the model': fails('SageMaker.SageMakerException', 'Could not access model data') });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toMatch(/Creating the model fraud-staging-[a-f0-9]{32} failed: Could not access model data/);
  expect(calls['Create the endpoint config']).toBeUndefined();
  expect(calls['Create the endpoint']).toBeUndefined();
  expect(calls['Delete the endpoint']).toBeUndefined();
  expect(calls['Delete the model']).toHaveLength(1);
});

test('a leftover endpoint of an earlier run is deleted and waited for before the new one is created', async () => {
  const { calls, error } = await run({
    'Look for a leftover endpoint': answers(inService, () => ({ EndpointName: 'fraud-staging', EndpointStatus: 'Deleting' }), () => {
      throw notFound();
    }),
    'Delete the leftover endpoint': async () => ({}),
  });

  expect(error).toBeUndefined();
  expect(calls['Look for a leftover endpoint']).toHaveLength(3);
  expect(calls['Delete the leftover endpoint']).toEqual([{ EndpointName: 'fraud-staging' }]);
  expect(calls['Create the endpoint']).toHaveLength(1);
});

test('a leftover that cannot be deleted ends the run before anything is created', async () => {
  const { calls, error } = await run({
    'Look for a leftover endpoint': async () => inService(),
    'Delete the leftover endpoint': fails('SageMaker.SageMakerException', 'User is not authorized to perform: sagemaker:DeleteEndpoint'),
  });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toMatch(/exists from an earlier run and could not be deleted: User is not authorized/);
  expect(calls['Create the model']).toBeUndefined();
});

test('an endpoint that cannot be deleted fails the run with EndpointNotDeleted and how to delete it', async () => {
  const { calls, error } = await run({
    'Delete the endpoint': fails('SageMaker.SageMakerException', 'User is not authorized to perform: sagemaker:DeleteEndpoint'),
  });

  expect(error.name).toBe('EndpointNotDeleted');
  expect(error.message).toMatch(/billed while it exists: delete it by hand \(aws sagemaker delete-endpoint --endpoint-name fraud-staging\)/);
  // Two retries, then the failure.
  expect(calls['Delete the endpoint']).toHaveLength(3);
});

describe('clean-up of an abandoned execution', () => {
  const abandonedName = async () => {
    // The name the abandoned execution gave its model and configuration.
    const { calls } = await run({}, { imageUri: NEW_IMAGE, modelVersion: '6' }, ABANDONED_ID);
    return calls['Create the model'][0].ModelName as string;
  };

  test('deletes the endpoint while it runs the abandoned configuration, then the configuration and the model', async () => {
    const name = await abandonedName();
    const { calls, error } = await run({
      'Describe the abandoned endpoint': async () => ({ EndpointName: 'fraud-staging', EndpointStatus: 'InService', EndpointConfigName: name }),
    }, { cleanup: true, executionArn: ABANDONED_ID });

    expect(error).toBeUndefined();
    expect(calls['Create the model']).toBeUndefined();
    expect(calls['Delete the endpoint']).toEqual([{ EndpointName: 'fraud-staging' }]);
    expect(calls['Delete the endpoint config']).toEqual([{ EndpointConfigName: name }]);
    expect(calls['Delete the model']).toEqual([{ ModelName: name }]);
  });

  test('leaves an endpoint that a newer run created alone', async () => {
    const { calls, error } = await run({
      'Describe the abandoned endpoint': async () => ({ EndpointName: 'fraud-staging', EndpointStatus: 'Creating', EndpointConfigName: 'fraud-staging-newer' }),
    }, { cleanup: true, executionArn: ABANDONED_ID });

    expect(error).toBeUndefined();
    expect(calls['Delete the endpoint']).toBeUndefined();
    expect(calls['Delete the model']).toHaveLength(1);
  });

  test('succeeds when nothing is left', async () => {
    const { calls, error } = await run({
      'Describe the abandoned endpoint': async () => {
        throw notFound();
      },
      'Delete the endpoint config': fails('SageMaker.SageMakerException', 'Could not find endpoint configuration'),
      'Delete the model': fails('SageMaker.SageMakerException', 'Could not find model'),
    }, { cleanup: true, executionArn: ABANDONED_ID });

    expect(error).toBeUndefined();
    expect(calls['Delete the endpoint']).toBeUndefined();
  });
});
