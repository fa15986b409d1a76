import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { EndpointDeployment, EndpointTestRunner, EphemeralEndpointTest, ModelEndpoint, ModelImageRepository, OnDemandEndpoint, OnDemandEndpointProps } from '../../lib';
import { THROTTLING_ERRORS } from '../fixtures/aws/step-functions-errors';
import { describeAbandonedExecutionCleanup } from '../support/abandoned-execution-cleanup';
import { complianceFindings } from '../support/compliance';
import { stateMachineDefinition } from '../support/state-machine';

const SAMPLES = [{ name: 'typical', body: '{"amount": 12.5}' }];

function ephemeralStack(app = new App(), endpointProps: Partial<OnDemandEndpointProps> = {}) {
  const stack = new Stack(app, 'Test');
  const endpoint = new OnDemandEndpoint(stack, 'Staging', {
    imageRepository: new ModelImageRepository(stack, 'Images'), endpointName: 'fraud-staging', instanceType: 'ml.c6i.large', ...endpointProps,
  });
  const test = new EndpointTestRunner(stack, 'StagingTest', { endpoint, samples: SAMPLES });
  const ephemeral = new EphemeralEndpointTest(stack, 'Ephemeral', { endpoint, test });
  return { stack, endpoint, test, ephemeral };
}

describe('OnDemandEndpoint', () => {
  const { stack, endpoint } = ephemeralStack();
  const template = Template.fromStack(stack);

  test('nothing billed while idle: no endpoint, configuration, model, alarms or autoscaling', () => {
    for (const type of ['AWS::SageMaker::Endpoint', 'AWS::SageMaker::EndpointConfig', 'AWS::SageMaker::Model',
      'AWS::ApplicationAutoScaling::ScalableTarget']) {
      template.resourceCountIs(type, 0);
    }
    // The one alarm of the stack is the ephemeral test's, on its clean-up dead-letter queue: none is the endpoint's.
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toEqual([expect.stringMatching(/^EphemeralCleanUpDeadLetterAlarm/)]);
    // No alarms, so nothing for the role to describe.
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('cloudwatch:DescribeAlarms');
  });

  test('the role, the volume key and the data capture bucket exist for the test to use', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })] },
    });
    expect(Object.keys(template.findResources('AWS::KMS::Key')).some((id) => id.startsWith('MlOpsKeysKey'))).toBe(true);
    expect(endpoint.dataCaptureBucket).toBeDefined();
    expect(endpoint.endpointName).toBe('fraud-staging');
  });
});

describe('EphemeralEndpointTest', () => {
  const { stack } = ephemeralStack();
  const template = Template.fromStack(stack);
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^EphemeralRole') } });
  const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
  // IAM action names are case-insensitive; aws-cdk-lib writes SDK integrations' in camel case.
  const allowed = (action: string) => statements
    .filter((s: any) => [s.Action].flat().some((a: string) => a.toLowerCase() === action.toLowerCase()))
    .flatMap((s: any) => [s.Resource].flat());
  const endpointArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint/fraud-staging']] };
  const prefixed = (type: string) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${type}/fraud-staging-*`]] });

  test('may create and delete this endpoint only, and only models and configurations of its prefix', () => {
    expect(allowed('sagemaker:CreateEndpoint')).toEqual(expect.arrayContaining([endpointArn, prefixed('endpoint-config')]));
    expect(allowed('sagemaker:DeleteEndpoint')).toEqual([endpointArn]);
    expect(allowed('sagemaker:DeleteEndpointConfig')).toEqual([prefixed('endpoint-config')]);
    expect(allowed('sagemaker:DeleteModel')).toEqual([prefixed('model')]);
    expect(allowed('sagemaker:CreateModel')).toEqual([prefixed('model')]);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: 'iam:PassRole', Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    }));
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'kms:CreateGrant', Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } }));
  });

  test('IAM: exactly the actions its calls need, and no more', () => {
    const actions = new Set(statements.flatMap((st: any) => [st.Action].flat()).map((a: string) => a.toLowerCase()));
    expect([...actions].sort()).toEqual([
      // The SDK calls, and the tags they set.
      'sagemaker:CreateModel', 'sagemaker:CreateEndpointConfig', 'sagemaker:CreateEndpoint', 'sagemaker:DescribeEndpoint',
      'sagemaker:DeleteEndpoint', 'sagemaker:DeleteEndpointConfig', 'sagemaker:DeleteModel', 'sagemaker:AddTags',
      // CreateModel passes the endpoint's role.
      'iam:PassRole',
      // The instances' volumes use the endpoint's key: SageMaker creates a grant on the caller's behalf.
      'kms:DescribeKey', 'kms:CreateGrant',
      // The nested test execution, run to completion (startExecution.sync:2: the Step Functions guide's nested-execution policy).
      'states:StartExecution', 'states:DescribeExecution', 'states:StopExecution', 'events:PutTargets', 'events:PutRule', 'events:DescribeRule',
      // Execution logs and tracing.
      'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries',
      'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
      'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
    ].map((a) => a.toLowerCase()).sort());
    expect(allowed('iam:PassRole')).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^StagingRole/), 'Arn'] }]);
  });

  test('every call retries its integration\'s throttling first, with a bounded backoff', () => {
    const definition = stateMachineDefinition(stack, 'Ephemeral');
    const tasks = Object.entries<any>(definition.States).filter(([, st]) => st.Type === 'Task');
    expect(tasks).toHaveLength(12);
    for (const [, task] of tasks) {
      const integration = task.Resource.includes(':sagemaker:') ? 'sagemaker' : 'stepFunctions';
      expect(task.Retry[0]).toMatchObject({ ErrorEquals: expect.arrayContaining(THROTTLING_ERRORS[integration].value), MaxDelaySeconds: 60 });
    }
  });

  test('runs the staging test as a nested execution and waits for it', () => {
    expect(allowed('states:StartExecution')).toEqual([{ Ref: expect.stringMatching(/^StagingTest/) }]);
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionString: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('states:::states:startExecution.sync:2')])] }),
    });
  });

  describeAbandonedExecutionCleanup(() => template, 'Ephemeral', 'the test endpoint');

  test('executions are logged to its own encrypted log group, and traced', () => {
    // The stack has two state machines (this one and the test's): look at this one only.
    const [machine] = Object.entries(template.findResources('AWS::StepFunctions::StateMachine'))
      .filter(([id]) => id.startsWith('Ephemeral')).map(([, r]: [string, any]) => r.Properties);
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    expect(machine.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    const destination = JSON.stringify(machine.LoggingConfiguration.Destinations);
    const [logGroupId] = Object.keys(template.findResources('AWS::Logs::LogGroup')).filter((id) => id.startsWith('EphemeralLogs'));
    expect(destination).toContain(logGroupId);
    expect(template.findResources('AWS::Logs::LogGroup')[logGroupId].Properties.KmsKeyId).toBeDefined();
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => ephemeralStack(app), { controlTower: true })).toEqual([]);
  });
});

describe('EphemeralEndpointTest fails when', () => {
  test('the endpoint is always on', () => {
    const stack = new Stack(new App(), 'Test');
    const endpoint = new ModelEndpoint(stack, 'Staging', { imageRepository: new ModelImageRepository(stack, 'ImagesStaging') });
    const test = new EndpointTestRunner(stack, 'T', { endpoint, samples: SAMPLES });
    expect(() => new EphemeralEndpointTest(stack, 'Ephemeral', { endpoint: endpoint as any, test })).toThrow(
      /EphemeralEndpointTest 'Test\/Ephemeral': invalid endpoint 'Test\/Staging'.*Give an OnDemandEndpoint/,
    );
  });

  test('the test calls another endpoint', () => {
    const { stack, endpoint } = ephemeralStack();
    const other = new ModelEndpoint(stack, 'Other', { imageRepository: new ModelImageRepository(stack, 'ImagesOther') });
    const test = new EndpointTestRunner(stack, 'OtherTest', { endpoint: other, samples: SAMPLES });
    expect(() => new EphemeralEndpointTest(stack, 'Again', { endpoint, test })).toThrow(/invalid test 'Test\/OtherTest'.*must call the endpoint this construct creates \(Test\/Staging\)/);
  });

  test('the creation timeout is under 5 minutes', () => {
    const { stack, endpoint, test } = ephemeralStack();
    expect(() => new EphemeralEndpointTest(stack, 'Quick', { endpoint, test, creationTimeout: Duration.minutes(2) })).toThrow(
      /invalid creationTimeout '120 seconds'.*at least 5 minutes/,
    );
  });

  test('the execution timeout does not exceed the creation timeout', () => {
    const { stack, endpoint, test } = ephemeralStack();
    expect(() => new EphemeralEndpointTest(stack, 'Short', { endpoint, test, creationTimeout: Duration.minutes(45), timeout: Duration.minutes(30) })).toThrow(
      /invalid timeout '1800 seconds'.*more than the creationTimeout plus the test's timeout \(2700 \+ 900 seconds\)/,
    );
  });

  test('the execution timeout is below the creation timeout plus the test\'s timeout', () => {
    const { stack, endpoint, test } = ephemeralStack();
    // 45 minutes of creation and 15 of test leave no time for the deletion within 1 hour.
    expect(() => new EphemeralEndpointTest(stack, 'Tight', { endpoint, test, creationTimeout: Duration.minutes(45), timeout: Duration.hours(1) })).toThrow(
      /EphemeralEndpointTest 'Test\/Tight': invalid timeout '3600 seconds'. Give more than the creationTimeout plus the test's timeout \(2700 \+ 900 seconds\)/,
    );
    expect(() => new EphemeralEndpointTest(stack, 'Enough', { endpoint, test, creationTimeout: Duration.minutes(45), timeout: Duration.minutes(65) })).not.toThrow();
  });

  test('an on-demand endpoint is given to EndpointDeployment', () => {
    const { stack, endpoint } = ephemeralStack();
    expect(() => new EndpointDeployment(stack, 'Deploy', { endpoint: endpoint as any })).toThrow(/invalid endpoint 'Test\/Staging'.*an OnDemandEndpoint is created and deleted by an EphemeralEndpointTest/);
  });
});
