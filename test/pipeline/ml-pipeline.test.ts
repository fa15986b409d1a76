import { App, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  BucketPurpose,
  DeploymentLedger,
  EndpointDeployment,
  EndpointTestRunner,
  EphemeralEndpointTest,
  MlPipeline,
  MlPipelineProps,
  ModelEndpoint,
  ModelImageRepository,
  OnDemandEndpoint,
  PipelineSource,
  ServingImageBuild,
  ShadowTest,
  TrainingImageBuild,
  VersionedBucket,
} from '../../lib';
import { ACTION_ENVIRONMENT_VARIABLES } from '../fixtures/aws/codebuild';
import { CONNECTION_ARN_FORMS } from '../fixtures/aws/codepipeline';
import { S3_OBJECT_CREATED } from '../fixtures/aws/eventbridge';
import { complianceFindings } from '../support/compliance';
import { workflowStack } from '../workflow/fixture';

const CONNECTION = 'arn:aws:codeconnections:us-east-1:123456789012:connection/0123abcd-4567-89ef-0123-456789abcdef';

/** Everything the pipeline wires: the training workflow fixture plus serving, staging, production and ledger. */
function pipelineStack(
  overrides: Partial<MlPipelineProps> | ((base: ReturnType<typeof workflowStack>) => Partial<MlPipelineProps>) = {},
  app: App = new App(),
) {
  const base = workflowStack({}, app);
  const { stack } = base;
  const images = new ModelImageRepository(stack, 'ServingImages');
  const imageBuild = new ServingImageBuild(stack, 'ImageBuild', { repository: images, modelPackageGroup: base.group, modelBucket: base.models });
  const staging = new ModelEndpoint(stack, 'Staging', { imageRepository: images, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
  const production = new ModelEndpoint(stack, 'Production', { imageRepository: images, production: true });
  const stagingDeployment = new EndpointDeployment(stack, 'StagingDeployment', { endpoint: staging });
  const productionDeployment = new EndpointDeployment(stack, 'ProductionDeployment', { endpoint: production });
  const stagingTest = new EndpointTestRunner(stack, 'StagingTest', {
    endpoint: staging,
    samples: [{ name: 'fraud', body: '{"amount": 1200}', expectedJson: '{"label": "fraud"}' }],
  });
  const ledger = new DeploymentLedger(stack, 'Ledger', { endpoints: [production] });
  const trainingImageBuild = new TrainingImageBuild(stack, 'TrainingImageBuild', { repository: base.trainingImages });
  const pipeline = new MlPipeline(stack, 'Pipeline', {
    source: PipelineSource.connection({ connectionArn: CONNECTION, owner: 'acme', repository: 'fraud-model' }),
    training: base.workflow,
    trainingImageBuild,
    imageBuild,
    stagingDeployment,
    stagingTest,
    productionDeployment,
    ledger,
    dataPrefix: 'datasets/fraud/',
    dataTriggerBucket: base.data,
    ...(typeof overrides === 'function' ? overrides(base) : overrides),
  });
  return { ...base, pipeline, imageBuild, trainingImageBuild, staging, production, stagingDeployment, productionDeployment, stagingTest, ledger };
}

describe('MlPipeline', () => {
  const { stack } = pipelineStack();
  const template = Template.fromStack(stack);
  const pipeline = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as any;
  const stages = pipeline.Properties.Stages as any[];
  const stage = (name: string) => stages.find((s) => s.Name === name);

  test('a V2 pipeline, queued executions, with the stages in order', () => {
    expect(pipeline.Properties.PipelineType).toBe('V2');
    expect(pipeline.Properties.ExecutionMode).toBe('QUEUED');
    expect(stages.map((s) => s.Name)).toEqual(['Source', 'Check', 'Build', 'Train', 'Package', 'Staging', 'Approval', 'Production']);
  });

  test('the source is a CodeConnections repository (no CodeCommit) with its variables', () => {
    expect(stage('Source').Actions[0]).toMatchObject({
      ActionTypeId: { Category: 'Source', Owner: 'AWS', Provider: 'CodeStarSourceConnection' },
      Configuration: expect.objectContaining({ ConnectionArn: CONNECTION, FullRepositoryId: 'acme/fraud-model', BranchName: 'main' }),
      Namespace: 'Source',
    });
    expect(JSON.stringify(pipeline)).not.toContain('CodeCommit');
  });

  test('the source action and every build that clones the repository may use the connection under either service prefix', () => {
    const byRole = connectionActionsByRole(template, CONNECTION);
    const both = [CONNECTION_ARN_FORMS.value.current.action, CONNECTION_ARN_FORMS.value.beforeJuly2024.action].sort();
    const roles = [...byRole.keys()];
    expect(roles).toEqual(expect.arrayContaining([
      expect.stringMatching(/^PipelineSourceCodeCodePipelineActionRole/),
      expect.stringMatching(/^PipelineCheckRole/),
      expect.stringMatching(/^ImageBuild.*Role/),
      expect.stringMatching(/^TrainingImageBuild.*Role/),
    ]));
    for (const role of roles) expect([role, [...byRole.get(role)!].sort()]).toEqual([role, both]);
  });

  test('check, train and package retry failed actions; staging and production roll back', () => {
    for (const name of ['Check', 'Build', 'Train', 'Package']) expect(stage(name).OnFailure).toEqual({ Result: 'RETRY', RetryConfiguration: { RetryMode: 'FAILED_ACTIONS' } });
    for (const name of ['Staging', 'Production']) expect(stage(name).OnFailure).toEqual({ Result: 'ROLLBACK' });
    expect(stage('Source').OnFailure).toBeUndefined();
  });

  test('train starts the workflow with the commit, the data prefix and the trigger variables; package reads its execution', () => {
    const train = stage('Train').Actions[0];
    expect(train.ActionTypeId).toMatchObject({ Category: 'Invoke', Provider: 'StepFunctions' });
    expect(JSON.parse(train.Configuration.Input)).toEqual({
      codeVersion: '#{Source.CommitId}',
      dataPrefix: '#{variables.DATA_PREFIX}',
      // Why the run started, for the model's lineage.
      trigger: '#{variables.TRIGGER}',
      trainingImageUri: '#{Build.TRAINING_IMAGE_URI}',
      evaluationImageUri: '#{Build.EVALUATION_IMAGE_URI}',
    });
    expect(train.Namespace).toBe('Train');
    const build = stage('Package').Actions[0];
    expect(build.ActionTypeId).toMatchObject({ Category: 'Build', Provider: 'CodeBuild' });
    expect(JSON.parse(build.Configuration.EnvironmentVariables)).toEqual([
      { name: 'TRAINING_EXECUTION_ARN', type: 'PLAINTEXT', value: '#{Train.ExecutionArn}' },
      // The image build tags the image with the commit itself, not with CodeBuild's resolved source version.
      { name: 'COMMIT_ID', type: 'PLAINTEXT', value: ACTION_ENVIRONMENT_VARIABLES.value.commitVariable },
    ]);
    expect(build.Namespace).toBe('Package');
    expect(pipeline.Properties.Variables).toEqual([
      expect.objectContaining({ Name: 'DATA_PREFIX', DefaultValue: 'datasets/fraud/' }),
      // A commit (or a start by hand) keeps the default; the triggers that start runs themselves set it.
      expect.objectContaining({ Name: 'TRIGGER', DefaultValue: 'push' }),
    ]);
  });

  test('build runs the training image build on the source, with the commit, and exports its variables as Build', () => {
    const [build] = stage('Build').Actions;
    expect(stage('Build').Actions).toHaveLength(1);
    expect(build).toMatchObject({
      Name: 'BuildTrainingImage',
      ActionTypeId: { Category: 'Build', Provider: 'CodeBuild' },
      InputArtifacts: [{ Name: 'Source' }],
      Namespace: 'Build',
      Configuration: expect.objectContaining({ ProjectName: { Ref: expect.stringMatching(/^TrainingImageBuild/) } }),
    });
    expect(JSON.parse(build.Configuration.EnvironmentVariables)).toEqual([{ name: 'SOURCE_VERSION', type: 'PLAINTEXT', value: '#{Source.CommitId}' }]);
  });

  test('staging deploys the image by digest, then tests it; production deploys, then records the lineage', () => {
    const [deploy, test] = stage('Staging').Actions;
    expect(JSON.parse(deploy.Configuration.Input)).toEqual({ imageUri: '#{Package.IMAGE_URI}', modelVersion: '#{Package.MODEL_VERSION}' });
    expect(deploy.RunOrder).toBe(1);
    expect(test.RunOrder).toBe(2);
    const [prodDeploy, record] = stage('Production').Actions;
    expect(prodDeploy.RunOrder).toBe(1);
    expect(record.ActionTypeId).toMatchObject({ Category: 'Invoke', Provider: 'Lambda' });
    expect(JSON.parse(record.Configuration.UserParameters)).toEqual({
      endpointName: expect.any(String),
      modelPackageArn: '#{Package.MODEL_PACKAGE_ARN}',
      imageUri: '#{Package.IMAGE_URI}',
      commit: '#{Source.CommitId}',
      dataVersionId: '#{Package.DATA_VERSION_ID}',
      pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
    });
  });

  test('a manual approval announced on the encrypted alerts topic', () => {
    expect(stage('Approval').Actions[0]).toMatchObject({
      ActionTypeId: { Category: 'Approval', Provider: 'Manual' },
      Configuration: expect.objectContaining({ NotificationArn: { Ref: expect.stringMatching(/^MlOpsAlertsTopic/) } }),
    });
  });

  test('the artifact bucket is KMS-encrypted, versioned and retained', () => {
    expect(pipeline.Properties.ArtifactStore).toMatchObject({ Type: 'S3', EncryptionKey: { Type: 'KMS' } });
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ VersioningConfiguration: { Status: 'Enabled' }, LifecycleConfiguration: Match.objectLike({ Rules: [Match.objectLike({ Id: 'pipeline-artifacts-noncurrent-versions' })] }) }),
    });
  });

  test('a complete new data version (its _SUCCESS marker) starts the pipeline with its location in DATA_PREFIX', () => {
    const { pipeline: ml } = pipelineStack();
    expect(ml.dataTrigger).toBeDefined();
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.s3'],
        'detail-type': ['Object Created'],
        'detail': { bucket: { name: [{ Ref: Match.stringLikeRegexp('^Data') }] }, object: { key: [{ wildcard: 'datasets/fraud/*_SUCCESS' }] } },
      },
      // A function, not EventBridge's CodePipeline target: that one cannot set pipeline variables.
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^PipelineNewDataVersionFunction'), 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DATA_PREFIX: 'datasets/fraud/', MARKER_SUFFIX: '_SUCCESS', VARIABLE_NAME: 'DATA_PREFIX', PIPELINE_NAME: { Ref: Match.stringLikeRegexp('^Pipeline') } }) },
    });
    // The pipeline declares TRIGGER, so the run also records why it started (data:<marker key>).
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ VARIABLE_NAME: 'DATA_PREFIX', TRIGGER_VARIABLE: 'TRIGGER' }) },
    });
  });

  test('without a data trigger bucket only commits start the pipeline', () => {
    const { pipeline: ml, stack: other } = pipelineStack({ dataTriggerBucket: undefined });
    expect(ml.dataTrigger).toBeUndefined();
    expect(Template.fromStack(other).findResources('AWS::Events::Rule', {
      Properties: { EventPattern: Match.objectLike({ 'detail-type': ['Object Created'] }) },
    })).toEqual({});
  });

  test('failures, approvals and successes are announced', () => {
    template.hasResourceProperties('AWS::CodeStarNotifications::NotificationRule', {
      EventTypeIds: ['codepipeline-pipeline-pipeline-execution-failed', 'codepipeline-pipeline-manual-approval-needed', 'codepipeline-pipeline-pipeline-execution-succeeded'],
    });
  });
});

/** The actions each role's policies allow on the connection. */
function connectionActionsByRole(template: Template, connectionArn: string): Map<string, Set<string>> {
  const byRole = new Map<string, Set<string>>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as any[]) {
    const statements = (policy.Properties.PolicyDocument.Statement as any[]).filter((s) => [s.Resource].flat().includes(connectionArn));
    for (const role of policy.Properties.Roles.map((r: any) => r.Ref as string)) {
      for (const statement of statements) {
        for (const action of [statement.Action].flat()) byRole.set(role, (byRole.get(role) ?? new Set()).add(action));
      }
    }
  }
  return byRole;
}

describe('MlPipeline options', () => {
  test('an S3 source uses the object version as the code version; no approval stage when turned off', () => {
    const app = new App();
    const source = new s3.Bucket(new Stack(app, 'Sources'), 'Code', { versioned: true });
    const { stack } = pipelineStack({ source: PipelineSource.s3({ bucket: source, objectKey: 'fraud.zip' }), manualApproval: false }, app);
    const pipeline = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const names = pipeline.Properties.Stages.map((s: any) => s.Name);
    expect(names).not.toContain('Approval');
    const train = pipeline.Properties.Stages.find((s: any) => s.Name === 'Train').Actions[0];
    expect(JSON.parse(train.Configuration.Input).codeVersion).toBe('#{Source.VersionId}');
    const build = pipeline.Properties.Stages.find((s: any) => s.Name === 'Package').Actions[0];
    expect(JSON.parse(build.Configuration.EnvironmentVariables)).toContainEqual({ name: 'COMMIT_ID', type: 'PLAINTEXT', value: '#{Source.VersionId}' });
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).not.toContain('UseConnection');
  });

  test('an S3 source takes a VersionedBucket itself, and an imported bucket with its key', () => {
    const app = new App();
    const sources = new Stack(app, 'Sources');
    const versioned = new VersionedBucket(sources, 'Code', { purpose: BucketPurpose.DATA });
    const { stack } = pipelineStack({ source: PipelineSource.s3({ bucket: versioned, objectKey: 'fraud.zip' }) }, app);
    const pipeline = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    expect(JSON.stringify(stack.resolve(pipeline.Properties.Stages[0].Actions[0].Configuration.S3Bucket))).toContain('ExportsOutputRefCode');

    const other = new App();
    const key = kms.Key.fromKeyArn(new Stack(other, 'Keys'), 'Key', 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555');
    const imported = s3.Bucket.fromBucketAttributes(new Stack(other, 'Sources'), 'Code', { bucketName: 'team-sources', encryptionKey: key });
    const { stack: withImport } = pipelineStack({ source: PipelineSource.s3({ bucket: imported, objectKey: 'fraud.zip' }) }, other);
    const decrypts = Object.values(Template.fromStack(withImport).findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => st.Resource === key.keyArn && [st.Action].flat().includes('kms:Decrypt'));
    expect(decrypts.length).toBeGreaterThan(0);
  });

  test('a new version of the S3 source zip starts the pipeline through S3\'s EventBridge notifications, with no CloudTrail trail', () => {
    const app = new App();
    const source = new s3.Bucket(new Stack(app, 'Sources'), 'Code', { versioned: true });
    const { stack } = pipelineStack({ source: PipelineSource.s3({ bucket: source, objectKey: 'code/fraud.zip' }) }, app);
    const template = Template.fromStack(stack);
    const pipeline = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const sourceAction = pipeline.Properties.Stages[0].Actions[0];
    // PollForSourceChanges false: CodePipeline neither polls nor expects CloudTrail; the rule below starts it.
    expect(sourceAction.Configuration).toMatchObject({ S3ObjectKey: 'code/fraud.zip', PollForSourceChanges: false });
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r: any) => r.Properties.EventPattern);
    // The event shape S3 sends to EventBridge (documented fixture): source aws.s3, detail-type Object Created.
    const created = S3_OBJECT_CREATED.value;
    const sourceRules = rules.filter((p: any) => p.source?.includes(created.source) && JSON.stringify(p).includes('code/fraud.zip'));
    expect(sourceRules).toHaveLength(1);
    expect(sourceRules[0]['detail-type']).toEqual([created['detail-type']]);
    expect(sourceRules[0].detail.object.key).toEqual(['code/fraud.zip']);
    expect(rules.filter((p: any) => (p['detail-type'] ?? []).includes('AWS API Call via CloudTrail'))).toEqual([]);
    // The bucket, made in this app, sends its events to EventBridge.
    Template.fromStack(Stack.of(source)).hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
  });

  test.each([
    ['since the July 2024 rename', CONNECTION_ARN_FORMS.value.current.arn],
    ['from before the rename', CONNECTION_ARN_FORMS.value.beforeJuly2024.arn],
  ])('a connection ARN %s is accepted, and both actions are granted on it', (_when, connectionArn) => {
    // The documented example id is a placeholder ('aEXAMPLE-...'); a real id is a UUID.
    const arn = connectionArn.replace('aEXAMPLE', 'a0000000');
    const { stack } = pipelineStack({ source: PipelineSource.connection({ connectionArn: arn, owner: 'acme', repository: 'fraud-model' }) });
    const byRole = connectionActionsByRole(Template.fromStack(stack), arn);
    expect(byRole.size).toBeGreaterThanOrEqual(3);
    for (const actions of byRole.values()) expect([...actions].sort()).toEqual(['codeconnections:UseConnection', 'codestar-connections:UseConnection']);
  });
});

describe('MlPipeline smoke training', () => {
  const smoke = (base: ReturnType<typeof workflowStack>) => ({
    smokeTraining: { sampleBucket: base.data, samplePrefix: 'samples/fraud/', commands: ['python train.py --data "$DATA_SAMPLE_DIR" --epochs 1'] },
  });

  test('takes an imported sample bucket with its key', () => {
    const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
    const { stack } = pipelineStack((base) => ({
      smokeTraining: {
        ...smoke(base).smokeTraining,
        sampleBucket: s3.Bucket.fromBucketAttributes(base.stack, 'Samples', {
          bucketName: 'team-samples', encryptionKey: kms.Key.fromKeyArn(base.stack, 'SamplesKey', keyArn),
        }),
      },
    }));
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(JSON.stringify(statements)).toContain(':s3:::team-samples/samples/fraud/*');
    expect(statements.filter((st: any) => st.Resource === keyArn && [st.Action].flat().includes('kms:Decrypt')).length).toBeGreaterThan(0);
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).toContain('s3://team-samples/samples/fraud/');
  });

  test('runs beside the tests in Check, on the sample copied to $DATA_SAMPLE_DIR, reading only the sample', () => {
    const { stack, pipeline: ml } = pipelineStack(smoke);
    const template = Template.fromStack(stack);
    const pipeline = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const check = pipeline.Properties.Stages.find((s: any) => s.Name === 'Check');
    expect(check.Actions.map((a: any) => [a.Name, a.RunOrder])).toEqual([['TestsLintData', 1], ['SmokeTraining', 1]]);
    const project = template.findResources('AWS::CodeBuild::Project', { Properties: { Description: Match.stringLikeRegexp('short training on a data sample') } });
    const [props] = Object.values(project).map((p: any) => p.Properties);
    expect(props.Environment).toMatchObject({ ComputeType: 'BUILD_GENERAL1_MEDIUM', EnvironmentVariables: [{ Name: 'DATA_SAMPLE_DIR', Value: 'smoke/data-sample' }] });
    expect(props.TimeoutInMinutes).toBe(20);
    const spec = JSON.stringify(props.Source.BuildSpec);
    expect(spec).toContain('aws s3 cp --recursive --only-show-errors');
    expect(spec).toContain('samples/fraud/');
    expect(spec).toMatch(/python train.py --data .*DATA_SAMPLE_DIR.* --epochs 1/);
    const role = stack.resolve((ml.smokeTrainingProject!.role!.node.defaultChild as any).logicalId);
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } });
    const reads = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().includes('s3:GetObject'));
    const dataResources = JSON.stringify(reads.map((st: any) => st.Resource));
    expect(dataResources).toContain('/samples/fraud/*');
    expect(dataResources).not.toMatch(/"\/\*"/);
    // It clones the repository too.
    expect([...(connectionActionsByRole(template, CONNECTION).get(role) ?? [])].sort())
      .toEqual(['codeconnections:UseConnection', 'codestar-connections:UseConnection']);
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => pipelineStack(smoke, app), { controlTower: true })).toEqual([]);
  });

  test('fails when it has no commands', () => {
    expect(() => pipelineStack((base) => ({ smokeTraining: { ...smoke(base).smokeTraining, commands: [] } }))).toThrow(
      /invalid smokeTraining.commands \[\].*train on "\$DATA_SAMPLE_DIR"/,
    );
  });

  test('fails when the sample prefix is a pattern', () => {
    expect(() => pipelineStack((base) => ({ smokeTraining: { ...smoke(base).smokeTraining, samplePrefix: 'samples/*' } }))).toThrow(
      /invalid smokeTraining.samplePrefix 'samples\/\*'/,
    );
  });
});

describe('MlPipeline with an ephemeral staging endpoint', () => {
  function ephemeralPipeline(app = new App()) {
    const base = workflowStack({}, app);
    const { stack } = base;
    const images = new ModelImageRepository(stack, 'ServingImages');
    const imageBuild = new ServingImageBuild(stack, 'ImageBuild', { repository: images, modelPackageGroup: base.group, modelBucket: base.models });
    const staging = new OnDemandEndpoint(stack, 'Staging', { imageRepository: images, instanceType: 'ml.c6i.large' });
    const production = new ModelEndpoint(stack, 'Production', { imageRepository: images, production: true });
    const test = new EndpointTestRunner(stack, 'StagingTest', { endpoint: staging, samples: [{ name: 'fraud', body: '{"amount": 1200}' }] });
    const ephemeralStaging = new EphemeralEndpointTest(stack, 'EphemeralStaging', { endpoint: staging, test });
    const pipeline = new MlPipeline(stack, 'Pipeline', {
      source: PipelineSource.connection({ connectionArn: CONNECTION, owner: 'acme', repository: 'fraud-model' }),
      training: base.workflow,
      trainingImageBuild: new TrainingImageBuild(stack, 'TrainingImageBuild', { repository: base.trainingImages }),
      imageBuild,
      ephemeralStaging,
      productionDeployment: new EndpointDeployment(stack, 'ProductionDeployment', { endpoint: production }),
      ledger: new DeploymentLedger(stack, 'Ledger', { endpoints: [production] }),
      dataPrefix: 'datasets/fraud/',
    });
    return { stack, pipeline, ephemeralStaging };
  }

  test('Staging is one action that creates, tests and deletes the endpoint with the packaged image', () => {
    const { stack } = ephemeralPipeline();
    const template = Template.fromStack(stack);
    const pipeline = Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const staging = pipeline.Properties.Stages.find((s: any) => s.Name === 'Staging');
    expect(staging.Actions).toHaveLength(1);
    expect(staging.Actions[0]).toMatchObject({
      Name: 'CreateTestDelete',
      ActionTypeId: { Provider: 'StepFunctions' },
      Configuration: { StateMachineArn: { Ref: expect.stringMatching(/^EphemeralStaging/) } },
    });
    expect(JSON.parse(staging.Actions[0].Configuration.Input)).toEqual({ imageUri: '#{Package.IMAGE_URI}', modelVersion: '#{Package.MODEL_VERSION}' });
    expect(staging.OnFailure).toEqual({ Result: 'ROLLBACK' });
    // Neither endpoint is a CloudFormation resource: each comes to life with its first deployment.
    template.resourceCountIs('AWS::SageMaker::Endpoint', 0);
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => ephemeralPipeline(app), { controlTower: true })).toEqual([]);
  });

  test('fails when both kinds of staging are given', () => {
    const app = new App();
    const { stack, ephemeralStaging } = ephemeralPipeline(app);
    const base = pipelineStack({}, new App());
    expect(() => new MlPipeline(stack, 'Both', {
      source: PipelineSource.connection({ connectionArn: CONNECTION, owner: 'acme', repository: 'x' }),
      training: base.workflow,
      trainingImageBuild: base.trainingImageBuild,
      imageBuild: base.imageBuild,
      ephemeralStaging,
      stagingDeployment: base.stagingDeployment,
      stagingTest: base.stagingTest,
      productionDeployment: base.productionDeployment,
      ledger: base.ledger,
      dataPrefix: 'datasets/',
    })).toThrow(/MlPipeline 'Test\/Both': invalid ephemeralStaging 'Test\/EphemeralStaging'.*either ephemeralStaging .* or stagingDeployment and stagingTest/);
  });
});

test('has no unacknowledged cdk-nag or Control Tower finding', () => {
  expect(complianceFindings((app) => pipelineStack({}, app), { controlTower: true })).toEqual([]);
});

describe('MlPipeline fails when', () => {
  test('staging and production are the same endpoint', () => {
    const base = pipelineStack();
    expect(() => new MlPipeline(base.stack, 'Bad', {
      source: PipelineSource.connection({ connectionArn: CONNECTION, owner: 'acme', repository: 'x' }),
      training: base.workflow,
      trainingImageBuild: base.trainingImageBuild,
      imageBuild: base.imageBuild,
      stagingDeployment: base.productionDeployment,
      stagingTest: base.stagingTest,
      productionDeployment: base.productionDeployment,
      ledger: base.ledger,
      dataPrefix: 'datasets/',
    })).toThrow(/MlPipeline 'Test\/Bad': invalid stagingDeployment .*Staging and production must be different endpoints/);
  });

  test('the training image build pushes to another repository than the workflow runs images of', () => {
    expect(() => pipelineStack((base) => ({
      trainingImageBuild: new TrainingImageBuild(base.stack, 'Elsewhere', { repository: new ModelImageRepository(base.stack, 'OtherImages') }),
    }))).toThrow(/MlPipeline 'Test\/Pipeline': invalid trainingImageBuild 'Test\/Elsewhere'. The build pushes to Test\/OtherImages, but the training workflow runs images of Test\/TrainingImages only/);
  });

  test('no training image build is given (a JavaScript or Python caller)', () => {
    expect(() => pipelineStack({ trainingImageBuild: undefined as any })).toThrow(/invalid trainingImageBuild .*Give a TrainingImageBuild/);
  });

  test('the check commands are empty', () => {
    expect(() => pipelineStack({ checkCommands: [] })).toThrow(/MlPipeline 'Test\/Pipeline': invalid checkCommands \[\].*at least one command/);
  });

  test('no staging is given', () => {
    expect(() => pipelineStack({ stagingDeployment: undefined, stagingTest: undefined })).toThrow(
      /invalid stagingDeployment undefined.*needs stagingDeployment and stagingTest .* or ephemeralStaging/,
    );
  });

  test('the staging test is missing', () => {
    expect(() => pipelineStack({ stagingTest: undefined })).toThrow(/invalid stagingTest undefined/);
  });

  test('the staging test calls another endpoint than the staging deployment updates', () => {
    const base = pipelineStack();
    const otherTest = new EndpointTestRunner(base.stack, 'ProdTest', { endpoint: base.production, samples: [{ name: 'a', body: '{}' }] });
    expect(() => new MlPipeline(base.stack, 'Mismatch', {
      source: PipelineSource.connection({ connectionArn: CONNECTION, owner: 'acme', repository: 'x' }),
      training: base.workflow,
      trainingImageBuild: base.trainingImageBuild,
      imageBuild: base.imageBuild,
      stagingDeployment: base.stagingDeployment,
      stagingTest: otherTest,
      productionDeployment: base.productionDeployment,
      ledger: base.ledger,
      dataPrefix: 'datasets/',
    })).toThrow(/invalid stagingTest 'Test\/ProdTest'.*must call the endpoint the staging deployment updates \(Test\/Staging\)/);
  });

  test.each(['', '*.csv'])('the data trigger suffix is %p', (dataTriggerSuffix) => {
    expect(() => pipelineStack({ dataTriggerSuffix })).toThrow(/invalid dataTriggerSuffix .*marker object/);
  });

  test.each([
    [{ connectionArn: 'arn:aws:codecommit:us-east-1:123456789012:fraud', owner: 'acme', repository: 'x' }, /invalid source.connectionArn .*CodeConnections connection/],
    [{ connectionArn: CONNECTION, owner: 'https://github.com/acme', repository: 'x' }, /invalid source.owner 'https:\/\/github.com\/acme'. .*without a URL/],
    [{ connectionArn: CONNECTION, owner: 'acme', repository: 'fraud model' }, /invalid source.repository 'fraud model'/],
    [{ connectionArn: CONNECTION, owner: 'acme', repository: 'x', branch: 'feature..x' }, /invalid source.branch 'feature..x'/],
    [{ connectionArn: CONNECTION, owner: 'acme', repository: 'fraud-model.git' }, /invalid source.repository 'fraud-model.git'. .*without a URL or ".git"/],
    [{ connectionArn: CONNECTION, owner: 'acme', repository: 'x', branch: 'refs/heads/main' }, /invalid source.branch 'refs\/heads\/main'. Give the branch's short name, .*"main"/],
  ])('the connection source is wrong (%#)', (options, message) => {
    expect(() => pipelineStack({ source: PipelineSource.connection(options) })).toThrow(message);
  });

  test('the S3 source bucket is not versioned', () => {
    const app = new App();
    const bucket = new s3.Bucket(new Stack(app, 'Sources'), 'Code');
    expect(() => pipelineStack({ source: PipelineSource.s3({ bucket, objectKey: 'code.zip' }) }, app)).toThrow(
      /MlPipeline 'Test\/Pipeline': invalid source.bucket 'Sources\/Code'. CodePipeline reads an S3 source only from a versioned bucket/,
    );
  });

  test('the S3 source key is not a zip', () => {
    const app = new App();
    const bucket = new s3.Bucket(new Stack(app, 'Sources'), 'Code', { versioned: true });
    expect(() => pipelineStack({ source: PipelineSource.s3({ bucket, objectKey: 'code/' }) }, app)).toThrow(
      /MlPipeline 'Test\/Pipeline': invalid source.objectKey 'code\/'. Give the key of a zip/,
    );
  });

  test('the data prefix has a wildcard', () => {
    expect(() => pipelineStack({ dataPrefix: 'datasets/*' })).toThrow(/invalid dataPrefix 'datasets\/\*'/);
  });
});

describe('MlPipeline with a shadow phase before Production', () => {
  const endpointOf = (base: ReturnType<typeof workflowStack>, id: string) => base.stack.node.tryFindChild(id) as ModelEndpoint;

  test('runs the new image as a shadow of production first, then deploys, then records', () => {
    const { stack } = pipelineStack((base) => ({ shadowTest: new ShadowTest(base.stack, 'Shadow', { endpoint: endpointOf(base, 'Production') }) }));
    const pipeline = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const production = pipeline.Properties.Stages.find((s: any) => s.Name === 'Production');
    expect(production.Actions.map((a: any) => [a.Name, a.RunOrder])).toEqual([['Shadow', 1], ['Deploy', 2], ['RecordInLedger', 3]]);
    const [shadow, deploy] = production.Actions;
    expect(shadow.Configuration.Input).toEqual(deploy.Configuration.Input);
  });

  test('fails when the shadow test is of another endpoint than the one Production deploys to', () => {
    expect(() => pipelineStack((base) => {
      const other = new ModelEndpoint(base.stack, 'Other', { imageRepository: base.trainingImages, instanceType: 'ml.c6i.large' });
      return { shadowTest: new ShadowTest(base.stack, 'Shadow', { endpoint: other }) };
    }))
      .toThrow(/MlPipeline 'Test\/Pipeline': invalid shadowTest 'Test\/Shadow'. Give a ShadowTest of the production endpoint/);
  });
});
