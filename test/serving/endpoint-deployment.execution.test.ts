/**
 * The synthesized deployment state machine, executed by a real Amazon States Language interpreter
 * (aws-local-stepfunctions). The SageMaker SDK tasks are replaced by local functions, by state name.
 */
import { App, Stack } from 'aws-cdk-lib';
import { ModelEndpoint } from '../../lib';
import { EndpointDeployment } from '../../lib/serving/endpoint-deployment';
import { aslErrors, runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving@sha256:${'a'.repeat(64)}`;
const NEW_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving@sha256:${'b'.repeat(64)}`;
const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:deploy:0f8e2c1a-5b7d-4c3e-9a1f-2d6b8e4c7a90';
const OLD_CONFIG = 'EndpointConfig-AbCdEf123456';
/** The name the running execution gave its endpoint configuration (the endpoint name and the MD5 of the execution ARN). */
let NEW_NAME = '';

const stack = new Stack(new App(), 'Test');
const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageUri: IMAGE, endpointName: 'fraud-prod', production: true });
new EndpointDeployment(stack, 'Deploy', { endpoint });
const definition = stateMachineDefinition(stack);
const MAX_CHECKS = definition.States['Out of time?'].Choices[0].NumericGreaterThanEquals;

type Handler = TaskHandler;

/** DescribeEndpoint answers, one per call; the last one repeats. */
function statuses(...answers: Array<(p: any) => any>): Handler {
  let i = 0;
  return async (p) => answers[Math.min(i++, answers.length - 1)](p);
}
const updating = () => ({ EndpointName: 'fraud-prod', EndpointStatus: 'Updating', EndpointConfigName: OLD_CONFIG });

async function run(handlers: Record<string, Handler>, input: any = { imageUri: NEW_IMAGE, modelVersion: '7' }) {
  const defaults: Record<string, Handler> = {
    'Create the model': async (p) => ({ ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${p.ModelName}` }),
    'Create the endpoint config': async (p) => {
      NEW_NAME = p.EndpointConfigName;
      return { EndpointConfigArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${p.EndpointConfigName}` };
    },
    'Update the endpoint': async () => ({ EndpointArn: 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-prod' }),
  }; return runLocally(definition, input, { ...defaults, ...handlers }, {
    executionId: EXECUTION_ID,
    executionName: '0f8e2c1a-5b7d-4c3e-9a1f-2d6b8e4c7a90',
    waitTimeOverrides: { 'Wait for the deployment': 0 },
    retryIntervalOverrides: { 'Describe the endpoint': 0 },
  });
}

test('the synthesized definition is valid Amazon States Language', () => {
  expect(aslErrors(definition)).toBe('');
});

test('success after a few Updating checks: one consistent name for the model, the config and the update', async () => {
  const { output, calls, error } = await run({
    'Describe the endpoint': statuses(updating, updating, updating,
      () => ({ EndpointName: 'fraud-prod', EndpointStatus: 'InService', EndpointConfigName: NEW_NAME })),
  });

  expect(error).toBeUndefined();
  expect(calls['Describe the endpoint']).toHaveLength(4);
  const model = calls['Create the model'][0];
  expect(model.ModelName).toMatch(/^fraud-prod-[a-f0-9]{32}$/);
  expect(model.ModelName).toBe(NEW_NAME);
  expect(model.ModelName.length).toBeLessThanOrEqual(63);
  expect(model.PrimaryContainer).toEqual({ Image: NEW_IMAGE });
  expect(model.ExecutionRoleArn).toMatch(/EndpointRole/);
  expect(model.Tags).toEqual([
    { Key: 'mlops:endpoint', Value: 'fraud-prod' },
    { Key: 'mlops:model-version', Value: '7' },
    { Key: 'mlops:model-package', Value: 'none' },
    { Key: 'mlops:deployment', Value: EXECUTION_ID },
  ]);
  const config = calls['Create the endpoint config'][0];
  expect(config.EndpointConfigName).toBe(model.ModelName);
  expect(config.ProductionVariants[0]).toMatchObject({ VariantName: 'AllTraffic', ModelName: model.ModelName, InitialInstanceCount: 2 });
  const update = calls['Update the endpoint'][0];
  expect(update).toMatchObject({ EndpointName: 'fraud-prod', EndpointConfigName: model.ModelName, RetainAllVariantProperties: true });
  expect(calls['Describe the endpoint'][0]).toEqual({ EndpointName: 'fraud-prod' });
  expect(output.endpoint.EndpointStatus).toBe('InService');
  expect(output.name).toBe(model.ModelName);
});

test('the model package, when given, is tagged', async () => {
  const arn = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/7';
  const { calls, error } = await run({
    'Describe the endpoint': async () => ({ EndpointName: 'fraud-prod', EndpointStatus: 'InService', EndpointConfigName: NEW_NAME }),
  }, { imageUri: NEW_IMAGE, modelVersion: '7', modelPackageArn: arn });
  expect(error).toBeUndefined();
  expect(calls['Create the model'][0].Tags).toContainEqual({ Key: 'mlops:model-package', Value: arn });
});

test('names differ between executions', async () => {
  const names = new Set<string>();
  const { Next: _next, ...naming } = definition.States['Name the deployment'];
  for (const id of ['exec-a', 'exec-b']) {
    const { output } = await runLocally({ StartAt: 'Name', States: { Name: { ...naming, End: true } } }, {}, {}, {
      executionId: `arn:aws:states:us-east-1:123456789012:execution:deploy:${id}`,
      executionName: id,
    });
    names.add(output.name);
  }
  expect(names.size).toBe(2);
  for (const n of names) expect(n).toMatch(/^fraud-prod-[a-f0-9]{32}$/);
});

test('rolled back: in service on the old configuration -> DeploymentRolledBack', async () => {
  const { calls, error } = await run({
    'Describe the endpoint': statuses(updating, () => ({ EndpointName: 'fraud-prod', EndpointStatus: 'RollingBack', EndpointConfigName: OLD_CONFIG }),
      () => ({ EndpointName: 'fraud-prod', EndpointStatus: 'InService', EndpointConfigName: OLD_CONFIG })),
  });

  expect(error).toBeDefined();
  expect(error.name).toBe('DeploymentRolledBack');
  expect(error.message).toContain(`on ${OLD_CONFIG} instead of ${NEW_NAME}`);
  expect(calls['Create the endpoint config'][0].EndpointConfigName).toBe(NEW_NAME);
  expect(calls['Describe the endpoint']).toHaveLength(3);
});

test('Failed -> DeploymentFailed with the reason', async () => {
  const { error } = await run({
    'Describe the endpoint': statuses(updating, () => ({
      EndpointName: 'fraud-prod',
      EndpointStatus: 'Failed',
      EndpointConfigName: OLD_CONFIG,
      FailureReason: 'The primary container for production variant AllTraffic did not pass the ping health check.',
    })),
  });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toMatch(/fraud-prod is Failed: The primary container .* did not pass the ping health check/);
});

test('UpdateRollbackFailed without a reason -> DeploymentFailed naming the status', async () => {
  const { error } = await run({
    'Describe the endpoint': async () => ({ EndpointName: 'fraud-prod', EndpointStatus: 'UpdateRollbackFailed', EndpointConfigName: OLD_CONFIG }),
  });

  expect(error.name).toBe('DeploymentFailed');
  expect(error.message).toMatch(/fraud-prod is UpdateRollbackFailed/);
});

test('never finishing -> DeploymentTimedOut after the bounded number of checks', async () => {
  const { calls, error } = await run({ 'Describe the endpoint': async () => updating() });

  expect(error.name).toBe('DeploymentTimedOut');
  expect(error.message).toMatch(new RegExp(`still Updating after ${MAX_CHECKS} checks`));
  expect(calls['Describe the endpoint']).toHaveLength(MAX_CHECKS + 1);
});

test('a SageMaker error in CreateModel fails the execution before the endpoint is touched', async () => {
  const { calls, error } = await run({
    'Create the model': async () => {
      throw Object.assign(new Error('Could not find image'), { name: 'SageMaker.SageMakerException' });
    },
  });

  expect(error.name).toBe('SageMaker.SageMakerException');
  expect(calls['Update the endpoint']).toBeUndefined();
});

test('a transient DescribeEndpoint error is retried', async () => {
  let failures = 1;
  const { calls, error } = await run({
    'Describe the endpoint': async () => {
      if (failures-- > 0) throw Object.assign(new Error('Rate exceeded'), { name: 'SageMaker.ThrottlingException' });
      return { EndpointName: 'fraud-prod', EndpointStatus: 'InService', EndpointConfigName: NEW_NAME };
    },
  });

  expect(error).toBeUndefined();
  expect(calls['Describe the endpoint']).toHaveLength(2);
});
