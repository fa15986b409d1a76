import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ModelEndpoint, ModelImageRepository, ShadowTest, ShadowTestProps } from '../../lib';
import { CREATE_EXPERIMENT_ACTIONS, EXPERIMENT_ROLE, UNSCHEDULED_DAYS } from '../fixtures/aws/sagemaker-inference-experiments';
import { THROTTLING_ERRORS } from '../fixtures/aws/step-functions-errors';
import { describeAbandonedExecutionCleanup } from '../support/abandoned-execution-cleanup';
import { stackFindings } from '../support/compliance';
import { stateMachineDefinition } from '../support/state-machine';

function shadow(props: Partial<ShadowTestProps> = {}) {
  const stack = new Stack(new App(), 'Test');
  const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), endpointName: 'fraud-prod', production: true });
  const test = new ShadowTest(stack, 'Shadow', { endpoint, ...props });
  return { stack, endpoint, test, template: Template.fromStack(stack), definition: stateMachineDefinition(stack, 'Shadow') };
}

function statements(template: Template): any[] {
  const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^ShadowRole') }] } });
  return Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}
const actionsOf = (s: any): string[] => [s.Action].flat();

describe('ShadowTest', () => {
  const { template, definition, stack, endpoint } = shadow();

  test('a standard state machine, logged in full to its encrypted log group and traced; 1 hour of shadowing and a 2 hour timeout by default', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ShadowLogs'), 'Arn'] } } }],
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue(), RetentionInDays: 365 });
    expect(definition.TimeoutSeconds).toBe(7200);
    expect(definition.States['Shadow production'].Seconds).toBe(3600);
  });

  test('IAM: the SageMaker actions on this endpoint\'s names, PassRole of the endpoint role to SageMaker only, GetMetricData on "*"', () => {
    const all = statements(template);
    const sagemaker = all.flatMap(actionsOf).filter((a) => a.startsWith('sagemaker:')).sort();
    expect([...new Set(sagemaker)]).toEqual([
      'sagemaker:AddTags', 'sagemaker:CreateInferenceExperiment', 'sagemaker:CreateModel', 'sagemaker:DeleteModel',
      'sagemaker:DescribeEndpoint', 'sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeInferenceExperiment', 'sagemaker:StopInferenceExperiment',
    ]);
    const experiments = all.filter((s) => actionsOf(s).includes('sagemaker:CreateInferenceExperiment'));
    expect(JSON.stringify(experiments.map((s) => s.Resource))).toMatch(/inference-experiment\/fraud-prod-\*/);
    const pass = all.filter((s) => actionsOf(s).includes('iam:PassRole'));
    expect(pass).toHaveLength(1);
    expect(pass[0].Condition).toEqual({ StringEquals: CREATE_EXPERIMENT_ACTIONS.value.passRoleCondition });
    // The model's execution role (CreateModel) and the experiment's role (CreateInferenceExperiment), nothing else.
    expect(pass[0].Resource.map((r: any) => r['Fn::GetAtt'][0])).toEqual([expect.stringMatching(/^EndpointRole/), expect.stringMatching(/^ShadowExperimentRole/)]);
    for (const action of CREATE_EXPERIMENT_ACTIONS.value.actions) expect(all.flatMap(actionsOf)).toContain(action);
    const metrics = all.filter((s) => actionsOf(s).includes('cloudwatch:GetMetricData'));
    expect(metrics).toEqual([expect.objectContaining({ Resource: '*' })]);
    expect(all.flatMap(actionsOf).filter((a) => a.startsWith('cloudwatch:'))).toEqual(['cloudwatch:GetMetricData']);
  });

  test('the experiment runs with a role of its own, which only SageMaker can assume, scoped to this endpoint', () => {
    const roleArn = definition.States['Create the experiment'].Parameters.RoleArn;
    expect(roleArn).toMatch(/function:ShadowExperimentRole/);
    expect(roleArn).not.toMatch(/EndpointRole/);
    const [[roleId, role]] = Object.entries<any>(template.findResources('AWS::IAM::Role', { Properties: { Description: Match.stringLikeRegexp('inference experiments') } }));
    expect(roleArn).toContain(roleId);
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: EXPERIMENT_ROLE.value.trustedService } },
    ]);
    // Not the console's AmazonSageMakerFullAccess: statements of its own.
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: roleId }] } });
    const granted = Object.values<any>(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    const on = (action: string) => granted.filter((s) => actionsOf(s).includes(action)).map((s) => JSON.stringify(stack.resolve(s.Resource)));
    expect([...new Set(granted.flatMap(actionsOf))].sort()).toEqual([
      'iam:PassRole', 'kms:CreateGrant', 'kms:DescribeKey', 'sagemaker:AddTags', 'sagemaker:CreateEndpointConfig', 'sagemaker:DeleteEndpointConfig',
      'sagemaker:DescribeEndpoint', 'sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel', 'sagemaker:UpdateEndpoint',
    ]);
    expect(on('sagemaker:UpdateEndpoint')).toEqual([expect.stringContaining(':endpoint/fraud-prod')]);
    expect(on('sagemaker:DescribeModel')).toEqual([expect.stringContaining(':model/fraud-prod-*')]);
    expect(on('sagemaker:CreateEndpointConfig')).toEqual([expect.stringContaining(':endpoint-config/*')]);
    expect(on('iam:PassRole')).toEqual([expect.stringContaining('EndpointRole')]);
    expect(granted.find((s) => actionsOf(s).includes('iam:PassRole')).Condition).toEqual({ StringEquals: CREATE_EXPERIMENT_ACTIONS.value.passRoleCondition });
    expect(granted.find((s) => actionsOf(s).includes('kms:CreateGrant')).Condition).toEqual({ Bool: { 'kms:GrantIsForAWSResource': 'true' } });
    for (const s of granted) expect(s.Resource).not.toEqual('*');
  });

  test('a role of your own is used instead, and passed', () => {
    const stack2 = new Stack(new App(), 'Test');
    const production = new ModelEndpoint(stack2, 'Endpoint', { imageRepository: new ModelImageRepository(stack2, 'Images'), endpointName: 'fraud-prod', production: true });
    const mine = new iam.Role(stack2, 'Mine', { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
    const test = new ShadowTest(stack2, 'Shadow', { endpoint: production, experimentRole: mine });
    expect(test.experimentRole).toBe(mine);
    expect(stateMachineDefinition(stack2, 'Shadow').States['Create the experiment'].Parameters.RoleArn).toMatch(/function:Mine/);
    const t = Template.fromStack(stack2);
    expect(Object.keys(t.findResources('AWS::IAM::Role')).filter((id) => id.startsWith('ShadowExperimentRole'))).toEqual([]);
    expect(JSON.stringify(statements(t).filter((s) => actionsOf(s).includes('iam:PassRole')))).toMatch(/Mine/);
  });

  test('the shadow\'s volumes use the endpoint\'s volume key; the grant SageMaker makes on it is for AWS resources only', () => {
    const create = definition.States['Create the experiment'].Parameters;
    const keyId = stack.resolve(endpoint._settings.kmsKey!.keyArn)['Fn::GetAtt'][0];
    expect(create.KmsKey).toContain(`function:${keyId}`);
    const grant = statements(template).find((s) => actionsOf(s).includes('kms:CreateGrant'));
    expect(grant.Condition).toEqual({ Bool: { 'kms:GrantIsForAWSResource': 'true' } });
  });

  test('every Task retries its service\'s throttling first', () => {
    const tasks = Object.entries<any>(definition.States).filter(([, s]) => s.Type === 'Task');
    // 8 on the test's own path, 3 on the clean-up's.
    expect(tasks.length).toBe(11);
    for (const [, state] of tasks) {
      const integration = /:cloudwatch:/.test(state.Resource) ? 'cloudwatch' : 'sagemaker';
      expect(state.Retry[0].ErrorEquals).toEqual(expect.arrayContaining(THROTTLING_ERRORS[integration].value));
    }
  });

  describeAbandonedExecutionCleanup(() => template, 'Shadow', 'may still run');

  test('the thresholds and the sampling reach the definition', () => {
    const custom = shadow({
      samplingPercentage: 25, maxErrorRateIncrease: 0.05, maxLatencyIncrease: 0.5, minInvocations: 1000, duration: Duration.hours(6),
    }).definition;
    expect(custom.States['Create the experiment'].Parameters.ShadowModeConfig.ShadowModelVariants[0].SamplingPercentage).toBe(25);
    expect(custom.States['Judge the shadow'].Choices[0].NumericLessThan).toBe(1000);
    expect(custom.States['Judge the shadow'].Choices[2].NumericGreaterThan).toBe(0.05);
    expect(custom.States['Latency worse?'].Choices[0].NumericGreaterThan).toBe(0.5);
    expect(custom.States['Shadow production'].Seconds).toBe(6 * 3600);
    expect(custom.TimeoutSeconds).toBe(7 * 3600);
  });

  test('no unacknowledged finding', () => {
    expect(stackFindings((scope) => {
      const production = new ModelEndpoint(scope, 'Endpoint', { imageRepository: new ModelImageRepository(scope, 'ImagesEndpoint'), production: true });
      new ShadowTest(scope, 'Shadow', { endpoint: production });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('ShadowTest fails when', () => {
  const build = (props: Partial<ShadowTestProps>, endpointProps: any = {}) => () => {
    const stack = new Stack(new App(), 'Test');
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), ...endpointProps });
    new ShadowTest(stack, 'Shadow', { endpoint, ...props });
  };

  test('the endpoint is imported, or serverless', () => {
    const stack = new Stack(new App(), 'Test');
    const imported = ModelEndpoint.fromEndpointName(stack, 'Imported', 'fraud-prod');
    expect(() => new ShadowTest(stack, 'Shadow', { endpoint: imported as any })).toThrow(/ShadowTest 'Test\/Shadow': invalid endpoint .*ModelEndpoint built in this app/);
    expect(build({}, { serverless: { memory: Size.gibibytes(1), maxConcurrency: 2 } })).toThrow(/invalid endpoint .*instance variant/);
  });

  test('the duration is under 1 hour or over the 7 days of an unscheduled experiment', () => {
    expect(build({ duration: Duration.minutes(59) })).toThrow(/invalid duration '59 minutes'. Give 1 hour to 7 days/);
    expect(build({ duration: Duration.days(UNSCHEDULED_DAYS.value.unscheduled + 1) })).toThrow(/invalid duration '8 days'/);
    expect(build({ duration: Duration.days(UNSCHEDULED_DAYS.value.unscheduled) })).not.toThrow();
  });

  test('the sampling percentage is not a whole number from 1 to 100', () => {
    for (const bad of [0, 101, 12.5]) expect(build({ samplingPercentage: bad })).toThrow(/invalid samplingPercentage/);
    expect(build({ samplingPercentage: 1 })).not.toThrow();
  });

  test('a threshold is negative (or the error-rate one reaches 1)', () => {
    expect(build({ maxErrorRateIncrease: -0.01 })).toThrow(/invalid maxErrorRateIncrease -0.01. Give a fraction from 0/);
    expect(build({ maxErrorRateIncrease: 1 })).toThrow(/invalid maxErrorRateIncrease/);
    expect(build({ maxLatencyIncrease: -0.1 })).toThrow(/invalid maxLatencyIncrease/);
    expect(build({ maxLatencyIncrease: 0, maxErrorRateIncrease: 0 })).not.toThrow();
  });

  test('minInvocations is not a whole number of at least 1', () => {
    for (const bad of [0, 2.5]) expect(build({ minInvocations: bad })).toThrow(/invalid minInvocations/);
  });

  test('the timeout leaves less than 30 minutes beyond the duration', () => {
    expect(build({ timeout: Duration.minutes(89) })).toThrow(/invalid timeout '1 hour 29 minutes'. Give at least the duration plus 30 minutes/);
    expect(build({ timeout: Duration.minutes(90) })).not.toThrow();
  });
});
