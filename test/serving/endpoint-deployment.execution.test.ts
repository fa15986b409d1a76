/**
 * The synthesized deployment state machine, executed by a real Amazon States Language interpreter
 * (aws-local-stepfunctions). The SageMaker SDK tasks are replaced by local functions, by state name, answering with the
 * documented SageMaker fixtures.
 */
import { App, Size, Stack } from 'aws-cdk-lib';
import { ModelEndpoint, ModelImageRepository } from '../../lib';
import { EndpointDeployment } from '../../lib/serving/endpoint-deployment';
import { autoScalingError, INVOCATIONS_TARGET_TRACKING, SAGEMAKER_VARIANT_TARGET } from '../fixtures/aws/application-autoscaling';
import {
  accessDenied, BUSY_STATUSES, describeEndpoint, endpointArn, endpointInProgress, endpointNotFound, ENDPOINT_STATUSES, FAILED_ENDPOINT_ONLY_DELETE,
  PING_FAILURE_REASON, resourceLimitExceeded, TaskError, throttled, VALIDATION_ERROR_NAMES,
} from '../fixtures/aws/sagemaker';
import { aslErrors, runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

const NEW_IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving@sha256:${'b'.repeat(64)}`;
const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:deploy:0f8e2c1a-5b7d-4c3e-9a1f-2d6b8e4c7a90';
const OLD_CONFIG = 'EndpointConfig-AbCdEf123456';
const ENDPOINT = 'fraud-prod';
/** The name the running execution gave its endpoint configuration (the endpoint name and the MD5 of the execution ARN). */
let NEW_NAME = '';

const stack = new Stack(new App(), 'Test');
const imageRepository = new ModelImageRepository(stack, 'Images', { repositoryName: 'fraud-serving' });
const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository, endpointName: ENDPOINT, production: true });
new EndpointDeployment(stack, 'Deploy', { endpoint });
const definition = stateMachineDefinition(stack);
const MAX_CHECKS = definition.States['Out of time?'].Choices[0].NumericGreaterThanEquals;
const TASKS = Object.keys(definition.States).filter((s) => definition.States[s].Type === 'Task');

type Handler = TaskHandler;
const raise = (e: TaskError) => {
  throw Object.assign(new Error(e.cause), { name: e.name });
};
const fails = (e: TaskError): Handler => async () => raise(e);

/** Answers, one per call; the last one repeats. */
function answers(...replies: Array<() => any>): Handler {
  let i = 0;
  return async () => replies[Math.min(i++, replies.length - 1)]();
}
/** Fails with `e` for the first `n` calls, then does what `then` does. */
function failing(n: number, e: TaskError, then: Handler): Handler {
  let left = n;
  return async (p) => (left-- > 0 ? raise(e) : then(p));
}
const { value: described } = describeEndpoint;
const updating = () => described(ENDPOINT, 'Updating', { EndpointConfigName: OLD_CONFIG });
const deployed = () => described(ENDPOINT, 'InService', { EndpointConfigName: NEW_NAME });
/** The endpoint before this deployment: in service on the previous configuration. */
const serving = () => described(ENDPOINT, 'InService', { EndpointConfigName: OLD_CONFIG });
const creating = () => described(ENDPOINT, 'Creating', { EndpointConfigName: NEW_NAME });
const notFound = endpointNotFound.value(ENDPOINT);

/** What SageMaker answers when all goes well. */
const DEFAULTS: Record<string, Handler> = {
  'Create the model': async (p) => ({ ModelArn: `arn:aws:sagemaker:us-east-1:123456789012:model/${p.ModelName}` }),
  'Create the endpoint config': async (p) => {
    NEW_NAME = p.EndpointConfigName;
    return { EndpointConfigArn: `arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/${p.EndpointConfigName}` };
  },
  'Look up the endpoint': async () => serving(),
  'Create the endpoint': async () => ({ EndpointArn: endpointArn(ENDPOINT) }),
  'Update the endpoint': async () => ({ EndpointArn: endpointArn(ENDPOINT) }),
  'Describe the endpoint': async () => deployed(),
  'Register the scalable target': async () => ({ ScalableTargetARN: 'arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target/0123abcd' }),
  'Apply the scaling policy': async () => ({ PolicyARN: 'arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:x', Alarms: [] }),
  'Delete the failed endpoint': async () => ({}),
  'Delete the endpoint config': async () => ({}),
  'Delete the model': async () => ({}),
};

async function run(handlers: Record<string, Handler>, input: any = { imageUri: NEW_IMAGE, modelVersion: '7' }) {
  return runLocally(definition, input, { ...DEFAULTS, ...handlers }, {
    executionId: EXECUTION_ID,
    executionName: '0f8e2c1a-5b7d-4c3e-9a1f-2d6b8e4c7a90',
    waitTimeOverrides: { 'Wait for the deployment': 0 },
    retryIntervalOverrides: Object.fromEntries(TASKS.map((t) => [t, 0])),
  });
}

test('the synthesized definition is valid Amazon States Language', () => {
  expect(aslErrors(definition)).toBe('');
});

test('success after a few Updating checks: one consistent name for the model, the config and the update', async () => {
  const { output, calls, error } = await run({ 'Describe the endpoint': answers(updating, updating, updating, deployed) });

  expect(error).toBeUndefined();
  expect(calls['Create the endpoint']).toBeUndefined();
  expect(calls['Describe the endpoint']).toHaveLength(4);
  const model = calls['Create the model'][0];
  expect(model.ModelName).toMatch(/^fraud-prod-[a-f0-9]{32}$/);
  expect(model.ModelName).toBe(NEW_NAME);
  expect(model.ModelName.length).toBeLessThanOrEqual(63);
  expect(model.PrimaryContainer).toEqual({ Image: NEW_IMAGE });
  expect(model.EnableNetworkIsolation).toBe(true);
  expect(model.ExecutionRoleArn).toMatch(/EndpointRole/);
  expect(model.Tags).toEqual([
    { Key: 'mlops:endpoint', Value: ENDPOINT },
    { Key: 'mlops:model-version', Value: '7' },
    { Key: 'mlops:model-package', Value: 'none' },
    { Key: 'mlops:deployment', Value: EXECUTION_ID },
  ]);
  const config = calls['Create the endpoint config'][0];
  expect(config.EndpointConfigName).toBe(model.ModelName);
  expect(config.ProductionVariants[0]).toMatchObject({ VariantName: 'AllTraffic', ModelName: model.ModelName, InitialInstanceCount: 2 });
  const update = calls['Update the endpoint'][0];
  expect(update).toMatchObject({ EndpointName: ENDPOINT, EndpointConfigName: model.ModelName, RetainAllVariantProperties: true });
  expect(update.DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration).toMatchObject({ Type: 'CANARY', WaitIntervalInSeconds: 600 });
  expect(calls['Describe the endpoint'][0]).toEqual({ EndpointName: ENDPOINT });
  expect(output.endpoint.EndpointStatus).toBe('InService');
  expect(output.name).toBe(model.ModelName);
});

test('the model package, when given, is tagged', async () => {
  const arn = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/7';
  const { calls, error } = await run({}, { imageUri: NEW_IMAGE, modelVersion: '7', modelPackageArn: arn });
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

describe('the outcome, from the endpoint status SageMaker reports', () => {
  test('rolled back: in service on the old configuration -> DeploymentRolledBack', async () => {
    const { calls, error } = await run({
      'Describe the endpoint': answers(updating, () => described(ENDPOINT, 'RollingBack', { EndpointConfigName: OLD_CONFIG }),
        () => described(ENDPOINT, 'InService', { EndpointConfigName: OLD_CONFIG })),
    });

    expect(error.name).toBe('DeploymentRolledBack');
    expect(error.message).toContain(`on ${OLD_CONFIG} instead of ${NEW_NAME}`);
    expect(calls['Describe the endpoint']).toHaveLength(3);
  });

  test('Failed -> DeploymentFailed with the reason', async () => {
    const { error } = await run({
      'Describe the endpoint': answers(updating, () => described(ENDPOINT, 'Failed', { EndpointConfigName: OLD_CONFIG, FailureReason: PING_FAILURE_REASON.value })),
    });

    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toBe(`Endpoint fraud-prod is Failed: ${PING_FAILURE_REASON.value}`);
  });

  // Every status of the SDK's model leads somewhere: no status makes the Choice fail with States.NoChoiceMatched.
  test.each(Object.values(ENDPOINT_STATUSES.value))('%s is handled', async (status) => {
    const { error } = await run({ 'Describe the endpoint': answers(() => described(ENDPOINT, status, { EndpointConfigName: OLD_CONFIG }), deployed) });

    if (BUSY_STATUSES.value.includes(status as any)) expect(error).toBeUndefined();
    else if (status === 'InService') expect(error.name).toBe('DeploymentRolledBack');
    else expect(error).toMatchObject({ name: 'DeploymentFailed', message: `Endpoint fraud-prod is ${status}, which ends the deployment.` });
  });

  test('never finishing -> DeploymentTimedOut after the bounded number of checks', async () => {
    const { calls, error } = await run({ 'Describe the endpoint': async () => updating() });

    expect(error.name).toBe('DeploymentTimedOut');
    expect(error.message).toMatch(new RegExp(`still Updating after ${MAX_CHECKS} checks`));
    expect(calls['Describe the endpoint']).toHaveLength(MAX_CHECKS + 1);
  });
});

describe('throttling and transient errors', () => {
  test.each(['Create the model', 'Create the endpoint config', 'Update the endpoint'])('a throttled %s is retried, and the deployment succeeds', async (task) => {
    for (const name of ['SageMaker.ThrottlingException', VALIDATION_ERROR_NAMES.value[1]]) {
      const { calls, error } = await run({ [task]: failing(1, throttled.value(name), DEFAULTS[task]) });

      expect(error).toBeUndefined();
      expect(calls[task]).toHaveLength(2);
      expect(calls['Describe the endpoint']).toHaveLength(1);
    }
  });

  test('a canary in progress is followed through checks that stay throttled (4 checks in a row, each after all its retries)', async () => {
    // Each check is one call plus the retrier's 6 retries; four whole checks fail, then SageMaker answers again.
    const perCheck = 1 + 6;
    const { calls, error, output } = await run({
      'Describe the endpoint': answers(updating, ...Array(4 * perCheck).fill(() => raise(throttled.value())), updating, deployed),
    });

    expect(error).toBeUndefined();
    expect(calls['Describe the endpoint']).toHaveLength(1 + 4 * perCheck + 2);
    expect(output.poll.count).toBe(6);
  });

  test('throttled under the generic error name too: the cause decides', async () => {
    const generic = throttled.value(VALIDATION_ERROR_NAMES.value[1]);
    const { error } = await run({ 'Describe the endpoint': answers(updating, ...Array(8).fill(() => raise(generic)), deployed) });
    expect(error).toBeUndefined();
  });

  test('checks throttled for longer than the deployment may last -> DeploymentTimedOut naming the last error', async () => {
    const { calls, error } = await run({ 'Describe the endpoint': fails(throttled.value()) });

    expect(error.name).toBe('DeploymentTimedOut');
    expect(error.message).toMatch(new RegExp(`could not be checked after ${MAX_CHECKS} checks .*Rate exceeded`));
    expect(calls['Describe the endpoint']).toHaveLength((MAX_CHECKS + 1) * 7);
  });

  test('a check refused for good (not a transient error) -> DeploymentFailed that says the update goes on', async () => {
    const { calls, error } = await run({ 'Describe the endpoint': fails(accessDenied.value('sagemaker:DescribeEndpoint', endpointArn(ENDPOINT))) });

    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toMatch(/^Endpoint fraud-prod could not be checked: User: .* is not authorized to perform: sagemaker:DescribeEndpoint.*SageMaker goes on deploying/);
    // The generic name is retried briefly (3 times), in case it is a throttle.
    expect(calls['Describe the endpoint']).toHaveLength(4);
  });
});

describe('refusals end with this construct\'s errors', () => {
  test.each(VALIDATION_ERROR_NAMES.value)('an update refused because the endpoint is being updated (%s) -> EndpointBusy', async (name) => {
    const { calls, error } = await run({ 'Update the endpoint': fails(endpointInProgress.value(ENDPOINT, name)) });

    expect(error.name).toBe('EndpointBusy');
    expect(error.message).toMatch(/^Endpoint fraud-prod is being created or updated .* nothing was changed\. Deploy again once the endpoint is InService\. SageMaker said: Cannot update in-progress endpoint/);
    expect(calls['Describe the endpoint']).toBeUndefined();
  });

  test('an update refused otherwise -> DeploymentFailed with SageMaker\'s words', async () => {
    const { error } = await run({ 'Update the endpoint': fails(accessDenied.value('sagemaker:UpdateEndpoint', endpointArn(ENDPOINT))) });

    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toMatch(/^SageMaker refused to update endpoint fraud-prod to fraud-prod-[a-f0-9]{32}: User: .*sagemaker:UpdateEndpoint/);
  });

  test('CreateModel refused: DeploymentFailed before the endpoint is touched', async () => {
    const { calls, error } = await run({ 'Create the model': fails(accessDenied.value('iam:PassRole', 'arn:aws:iam::123456789012:role/EndpointRole')) });

    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toMatch(/^Creating the model fraud-prod-[a-f0-9]{32} failed: User: .*iam:PassRole/);
    expect(calls['Update the endpoint']).toBeUndefined();
  });

  test('CreateEndpointConfig refused: DeploymentFailed before the endpoint is touched', async () => {
    const { calls, error } = await run({ 'Create the endpoint config': fails(accessDenied.value('kms:CreateGrant', 'arn:aws:kms:us-east-1:123456789012:key/x')) });

    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toMatch(/^Creating the endpoint config fraud-prod-[a-f0-9]{32} failed: /);
    expect(calls['Update the endpoint']).toBeUndefined();
  });
});

describe('the first deployment creates the endpoint', () => {
  const first = { 'Look up the endpoint': fails(notFound) };

  test('not found -> model, config, CreateEndpoint without a DeploymentConfig, in service, then autoscaling; no UpdateEndpoint', async () => {
    const { calls, error } = await run({ ...first, 'Describe the endpoint': answers(creating, creating, deployed) });

    expect(error).toBeUndefined();
    expect(calls['Update the endpoint']).toBeUndefined();
    const create = calls['Create the endpoint'][0];
    expect(create).toEqual({ EndpointName: ENDPOINT, EndpointConfigName: NEW_NAME, Tags: expect.arrayContaining([{ Key: 'mlops:deployment', Value: EXECUTION_ID }]) });
    expect(create.DeploymentConfig).toBeUndefined();
    expect(calls['Create the endpoint config'][0].ProductionVariants[0]).toMatchObject({ InstanceType: 'ml.m5.large', InitialInstanceCount: 2 });
    expect(calls['Describe the endpoint']).toHaveLength(3);
    const target = SAGEMAKER_VARIANT_TARGET.value(ENDPOINT, 'AllTraffic');
    expect(calls['Register the scalable target']).toEqual([{ ...target, MinCapacity: 2, MaxCapacity: 6 }]);
    expect(calls['Apply the scaling policy']).toEqual([{
      PolicyName: 'fraud-prod-AllTraffic-invocations',
      PolicyType: INVOCATIONS_TARGET_TRACKING.value.PolicyType,
      ...target,
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 1000,
        PredefinedMetricSpecification: { PredefinedMetricType: INVOCATIONS_TARGET_TRACKING.value.PredefinedMetricType },
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      },
    }]);
  });

  test('a second deployment (the endpoint exists) updates it with the canary and applies the same autoscaling again', async () => {
    const { calls, error } = await run({ 'Describe the endpoint': answers(updating, deployed) });

    expect(error).toBeUndefined();
    expect(calls['Create the endpoint']).toBeUndefined();
    expect(calls['Update the endpoint'][0].DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration)
      .toEqual({ Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 });
    expect(calls['Update the endpoint'][0].DeploymentConfig.AutoRollbackConfiguration.Alarms).toHaveLength(2);
    expect(calls['Register the scalable target']).toHaveLength(1);
    expect(calls['Apply the scaling policy']).toHaveLength(1);
  });

  test.each(VALIDATION_ERROR_NAMES.value)('not found under %s is a first deployment too', async (name) => {
    const { calls, error } = await run({ 'Look up the endpoint': fails(endpointNotFound.value(ENDPOINT, name)) });
    expect(error).toBeUndefined();
    expect(calls['Create the endpoint']).toHaveLength(1);
  });

  test('a throttled lookup and a throttled CreateEndpoint are retried', async () => {
    const { calls, error } = await run({
      'Look up the endpoint': failing(2, throttled.value(), async () => raise(notFound)),
      'Create the endpoint': failing(1, throttled.value(), DEFAULTS['Create the endpoint']),
    });
    expect(error).toBeUndefined();
    expect(calls['Create the endpoint']).toHaveLength(2);
    expect(calls['Update the endpoint']).toBeUndefined();
  });

  test('a lookup refused for good -> DeploymentFailed before anything is created', async () => {
    const { calls, error } = await run({ 'Look up the endpoint': fails(accessDenied.value('sagemaker:DescribeEndpoint', endpointArn(ENDPOINT))) });
    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toMatch(/^Could not check whether endpoint fraud-prod exists: User: .*sagemaker:DescribeEndpoint/);
    expect(calls['Create the model']).toBeUndefined();
  });

  test('an endpoint that fails to come into service is deleted with this run\'s config and model; DeploymentFailed with the FailureReason', async () => {
    const failed = () => described(ENDPOINT, 'Failed', { EndpointConfigName: NEW_NAME, FailureReason: PING_FAILURE_REASON.value });
    const { calls, error } = await run({ ...first, 'Describe the endpoint': answers(creating, failed) });

    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toBe(`Endpoint fraud-prod failed to come into service and was deleted: ${PING_FAILURE_REASON.value}`);
    // A Failed endpoint accepts only its deletion: nothing billed is left.
    expect(FAILED_ENDPOINT_ONLY_DELETE.value).toBe('DeleteEndpoint');
    expect(calls['Delete the failed endpoint']).toEqual([{ EndpointName: ENDPOINT }]);
    expect(calls['Delete the endpoint config']).toEqual([{ EndpointConfigName: NEW_NAME }]);
    expect(calls['Delete the model']).toEqual([{ ModelName: NEW_NAME }]);
    expect(calls['Register the scalable target']).toBeUndefined();
  });

  test('a failed endpoint that cannot be deleted: the config and model still are, EndpointNotDeleted with the command', async () => {
    const failed = () => described(ENDPOINT, 'Failed', { EndpointConfigName: NEW_NAME, FailureReason: PING_FAILURE_REASON.value });
    const { calls, error } = await run({
      ...first,
      'Describe the endpoint': answers(creating, failed),
      'Delete the failed endpoint': fails(accessDenied.value('sagemaker:DeleteEndpoint', endpointArn(ENDPOINT))),
    });
    expect(error.name).toBe('EndpointNotDeleted');
    expect(error.message).toContain('aws sagemaker delete-endpoint --endpoint-name fraud-prod');
    expect(error.message).toContain(PING_FAILURE_REASON.value);
    expect(calls['Delete the model']).toHaveLength(1);
  });

  test('CreateEndpoint refused (a quota): the config and the model are deleted; DeploymentFailed', async () => {
    const { calls, error } = await run({ ...first, 'Create the endpoint': fails(resourceLimitExceeded.value('ml.m5.large')) });
    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toMatch(/^Creating endpoint fraud-prod failed: The account-level service limit/);
    expect(calls['Delete the failed endpoint']).toBeUndefined();
    expect(calls['Delete the endpoint config']).toEqual([{ EndpointConfigName: NEW_NAME }]);
    expect(calls['Delete the model']).toHaveLength(1);
  });

  test('an existing Failed endpoint is not deployed to: DeploymentFailed with the delete command, nothing created', async () => {
    const { calls, error } = await run({ 'Look up the endpoint': async () => described(ENDPOINT, 'Failed', { EndpointConfigName: OLD_CONFIG }) });
    expect(error.name).toBe('DeploymentFailed');
    expect(error.message).toContain('aws sagemaker delete-endpoint --endpoint-name fraud-prod');
    expect(calls['Create the model']).toBeUndefined();
  });
});

describe('autoscaling', () => {
  test.each(['Register the scalable target', 'Apply the scaling policy'])('%s throttled or in a concurrent update is retried', async (task) => {
    for (const code of ['ThrottlingException', 'ConcurrentUpdateException'] as const) {
      const { calls, error } = await run({ [task]: failing(1, autoScalingError.value(code), DEFAULTS[task]) });
      expect(error).toBeUndefined();
      expect(calls[task]).toHaveLength(2);
    }
  });

  test('refused -> AutoScalingNotApplied, saying the endpoint serves the new model', async () => {
    const { error } = await run({ 'Register the scalable target': fails(autoScalingError.value('ValidationException')) });
    expect(error.name).toBe('AutoScalingNotApplied');
    expect(error.message).toMatch(/^Endpoint fraud-prod serves fraud-prod-[a-f0-9]{32}, but its autoscaling \(endpoint\/fraud-prod\/variant\/AllTraffic/);
  });

  test('a serverless endpoint gets no autoscaling', async () => {
    const s = new Stack(new App(), 'Serverless');
    const images = new ModelImageRepository(s, 'Images');
    const ep = new ModelEndpoint(s, 'Endpoint', { imageRepository: images, endpointName: 'fraud-sl', serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
    new EndpointDeployment(s, 'Deploy', { endpoint: ep });
    const d = stateMachineDefinition(s);
    const tasks = Object.keys(d.States).filter((n) => d.States[n].Type === 'Task');
    const { calls, error } = await runLocally(d, { imageUri: NEW_IMAGE, modelVersion: '1' }, {
      'Look up the endpoint': fails(endpointNotFound.value('fraud-sl')),
      'Create the model': async () => ({}),
      'Create the endpoint config': async (p) => { NEW_NAME = p.EndpointConfigName; return {}; },
      'Create the endpoint': async () => ({}),
      'Describe the endpoint': async () => described('fraud-sl', 'InService', { EndpointConfigName: NEW_NAME }),
    }, { executionId: EXECUTION_ID, executionName: 'x', waitTimeOverrides: { 'Wait for the deployment': 0 }, retryIntervalOverrides: Object.fromEntries(tasks.map((t) => [t, 0])) });
    expect(error).toBeUndefined();
    expect(calls['Create the endpoint']).toHaveLength(1);
    expect(tasks.some((t) => d.States[t].Resource.includes('applicationautoscaling'))).toBe(false);
  });
});
