/**
 * Every string prop of every construct given a string token (a CfnParameter, known only at deploy time): no check
 * rejects it for being a token, and the template references the parameter (nothing drops it). Props whose value the
 * library must know at synth say so in the house message, without printing the token.
 */
import { App, CfnParameter, Fn, Size, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import {
  AlertSubscriptions, BatchNetwork, BucketPurpose, ComputePlatform, DataVersionSnapshot, DataVersionTrigger, DeploymentLedger, DriftMonitor,
  EndpointDeployment, EndpointTestRunner, EphemeralEndpointTest, MlJobDefinition, MlOpsDashboard, MlPipeline, MlPipelineProps, ModelEndpoint,
  ModelImageRepository, ModelPackageGroup, ModelQualityMonitor, OnDemandEndpoint, PipelineSource, RetrainingTrigger,
  ServingImageBuild, SpendBudget, SpotCpuQueue, SpotGpuQueue, TrainingImageBuild, TrainingWorkflowProps, VersionedBucket,
} from '../../lib';
import { FEATURES, monitoredStack } from '../monitoring/fixture';
import { GATE, workflowStack } from '../workflow/fixture';

const REF = JSON.stringify({ Ref: 'S' });
const CONNECTION = 'arn:aws:codeconnections:us-east-1:123456789012:connection/0123abcd-4567-89ef-0123-456789abcdef';
const image = () => ecs.ContainerImage.fromRegistry('public.ecr.aws/example/trainer:1.0');
const SAMPLES = [{ name: 'typical', body: '{}' }];

/** A string only CloudFormation knows. */
function parameter(stack: Stack): string {
  return new CfnParameter(stack, 'S').valueAsString;
}

/** For fixtures that make the stack themselves: the token is a Ref to the parameter added to the stack afterwards. */
const LATE = Token.asString({ Ref: 'S' });

function expectReferenced(stack: Stack) {
  if (!stack.node.tryFindChild('S')) new CfnParameter(stack, 'S');
  const template = JSON.stringify(Template.fromStack(stack).toJSON());
  expect(template).toContain(REF);
  expect(template).not.toMatch(/\$\{Token\[|<token>|\d(\.\d+)?e\+\d{3}/);
}

const endpoint = (stack: Stack, props: Record<string, unknown> = {}) =>
  new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), ...props });

/** Each case builds a stack that uses the token in one string prop. */
const CASES: Array<[string, (stack: Stack, s: string) => void]> = [
  ['VersionedBucket bucketName', (stack, s) => new VersionedBucket(stack, 'Data', { bucketName: s })],
  ['VersionedBucket.fromBucketAttributes bucketName', (stack, s) => {
    const bucket = VersionedBucket.fromBucketAttributes(stack, 'Imported', { bucketName: s });
    new DataVersionSnapshot(stack, 'Snapshot', { bucket });
  }],
  ['DataVersionSnapshot dataPrefix', (stack, s) => new DataVersionSnapshot(stack, 'Snapshot', { bucket: new VersionedBucket(stack, 'Data'), dataPrefix: s })],
  ['DataVersionSnapshot manifestPrefix', (stack, s) =>
    new DataVersionSnapshot(stack, 'Snapshot', { bucket: new VersionedBucket(stack, 'Data'), manifestPrefix: s })],
  ['ModelImageRepository repositoryName', (stack, s) => new ModelImageRepository(stack, 'Images', { repositoryName: s })],
  ['ModelPackageGroup modelPackageGroupName', (stack, s) => new ModelPackageGroup(stack, 'Registry', { modelPackageGroupName: s })],
  ['ModelPackageGroup description', (stack, s) => new ModelPackageGroup(stack, 'Registry', { description: s })],
  ['ModelPackageGroup readerAccounts', (stack, s) => new ModelPackageGroup(stack, 'Registry', { readerAccounts: [s] })],
  ['SpotGpuQueue jobQueueName', (stack, s) => new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network'), jobQueueName: s })],
  ['SpotCpuQueue jobQueueName', (stack, s) => new SpotCpuQueue(stack, 'Cpus', { network: new BatchNetwork(stack, 'Network'), jobQueueName: s })],
  ['MlJobDefinition jobDefinitionName', (stack, s) => {
    const queue = new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network') });
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), jobDefinitionName: s });
  }],
  ['MlJobDefinition command', (stack, s) => {
    const queue = new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network') });
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), command: ['python', s] });
  }],
  ['MlJobDefinition reads prefix', (stack, s) => {
    const queue = new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network') });
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), reads: [{ bucket: new VersionedBucket(stack, 'Data'), prefix: s }] });
  }],
  ['ModelEndpoint endpointName', (stack, s) => new EndpointDeployment(stack, 'Deploy', { endpoint: endpoint(stack, { endpointName: s }) })],
  ['ModelEndpoint variantName', (stack, s) => new EndpointDeployment(stack, 'Deploy', { endpoint: endpoint(stack, { variantName: s }) })],
  ['ModelEndpoint instanceType', (stack, s) => new EndpointDeployment(stack, 'Deploy', { endpoint: endpoint(stack, { instanceType: s }) })],
  ['ModelEndpoint modelDataUrl', (stack, s) => new EndpointDeployment(stack, 'Deploy', { endpoint: endpoint(stack, { modelDataUrl: s }) })],
  ['ModelEndpoint asyncInference.outputPrefix', (stack, s) => new EndpointDeployment(stack, 'Deploy', {
    endpoint: endpoint(stack, { asyncInference: { outputBucket: new VersionedBucket(stack, 'Results'), outputPrefix: s } }),
  })],
  ['OnDemandEndpoint instanceType', (stack, s) => onDemand(stack, { instanceType: s })],
  ['OnDemandEndpoint endpointName', (stack, s) => onDemand(stack, { endpointName: s })],
  ['EndpointTestRunner samples body (a token inside the JSON text)', (stack, s) =>
    new EndpointTestRunner(stack, 'Test', { endpoint: endpoint(stack), samples: [{ name: 'typical', body: `{"customer": "${s}"}` }] })],
  ['EndpointTestRunner samples expectedJson (a token inside the JSON text)', (stack, s) =>
    new EndpointTestRunner(stack, 'Test', { endpoint: endpoint(stack), samples: [{ name: 'typical', body: '{}', expectedJson: `{"label": "${s}"}` }] })],
  ['EndpointTestRunner samples contentType', (stack, s) =>
    new EndpointTestRunner(stack, 'Test', { endpoint: endpoint(stack), samples: [{ name: 'typical', body: '"1,2,3"', contentType: s }] })],
  ['EndpointTestRunner samples name', (stack, s) =>
    new EndpointTestRunner(stack, 'Test', { endpoint: endpoint(stack), samples: [{ name: s, body: '{}' }] })],
  ['ServingImageBuild baseImage', (stack, s) => new ServingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images'), baseImage: s })],
  ['ServingImageBuild dockerfile', (stack, s) => new ServingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images'), dockerfile: s })],
  ['ServingImageBuild goldenDirectory', (stack, s) =>
    new ServingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images'), goldenDirectory: s })],
  ['ServingImageBuild modelPrefix', (stack, s) => new ServingImageBuild(stack, 'Build', {
    repository: new ModelImageRepository(stack, 'Images'), modelBucket: new VersionedBucket(stack, 'Models'), modelPrefix: s,
  })],
  ['TrainingImageBuild trainingDirectory', (stack, s) => new TrainingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images'), trainingDirectory: s })],
  ['TrainingImageBuild dockerfile', (stack, s) => new TrainingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images'), dockerfile: s })],
  ['TrainingImageBuild evaluationDirectory', (stack, s) =>
    new TrainingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images'), evaluationDirectory: s })],
  ['TrainingImageBuild evaluationDockerfile', (stack, s) =>
    new TrainingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images'), evaluationDirectory: 'evaluation', evaluationDockerfile: s })],
  ['TrainingImageBuild baseImage', (stack, s) => new TrainingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images'), baseImage: s })],
  ['DataVersionTrigger prefix', (stack, s) => trigger(stack, { prefix: s })],
  ['DataVersionTrigger markerSuffix', (stack, s) => trigger(stack, { markerSuffix: s })],
  ['DataVersionTrigger variableName', (stack, s) => trigger(stack, { variableName: s })],
  ['DataVersionTrigger triggerVariableName', (stack, s) => trigger(stack, { triggerVariableName: s })],
  ['SpendBudget budgetName', (stack, s) => new SpendBudget(stack, 'Budget', { limitUsd: 50, budgetName: s })],
  ['AlertSubscriptions emails', (stack, s) => new AlertSubscriptions(stack, 'Alerts', { emails: [s] })],
  ['AlertSubscriptions slackChannels slackWorkspaceId', (stack, s) =>
    new AlertSubscriptions(stack, 'Alerts', { slackChannels: [{ name: 'ml-alerts', slackWorkspaceId: s, slackChannelId: 'C0123456789' }] })],
  ['AlertSubscriptions slackChannels slackChannelId', (stack, s) =>
    new AlertSubscriptions(stack, 'Alerts', { slackChannels: [{ name: 'ml-alerts', slackWorkspaceId: 'T0123456789', slackChannelId: s }] })],
  ['AlertSubscriptions slackChannels name', (stack, s) =>
    new AlertSubscriptions(stack, 'Alerts', { slackChannels: [{ name: s, slackWorkspaceId: 'T0123456789', slackChannelId: 'C0123456789' }] })],
];

function onDemand(stack: Stack, props: { instanceType?: string; endpointName?: string }) {
  const ep = new OnDemandEndpoint(stack, 'Staging', {
    imageRepository: new ModelImageRepository(stack, 'Images'), instanceType: props.instanceType ?? 'ml.c6i.large', endpointName: props.endpointName,
  });
  // The ephemeral test creates the endpoint (and its config, with the instance type) in its state machine.
  new EphemeralEndpointTest(stack, 'Ephemeral', { endpoint: ep, test: new EndpointTestRunner(stack, 'Test', { endpoint: ep, samples: SAMPLES }) });
}

function trigger(stack: Stack, props: { prefix?: string; markerSuffix?: string; variableName?: string; triggerVariableName?: string }) {
  new DataVersionTrigger(stack, 'OnNewData', {
    bucket: new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA }),
    ...props,
    prefix: props.prefix ?? 'datasets/',
    pipeline: codepipeline.Pipeline.fromPipelineArn(stack, 'Pipeline', 'arn:aws:codepipeline:us-east-1:123456789012:fraud-ml'),
  });
}

describe('a string token (a CfnParameter) reaches the template where the value goes', () => {
  test.each(CASES)('%s', (_name, build) => {
    const stack = new Stack(new App(), 'Test');
    build(stack, parameter(stack));
    expectReferenced(stack);
  });
});

describe('workflow and monitoring props keep a string token', () => {
  test.each<[string, Partial<TrainingWorkflowProps> | ((base: ReturnType<typeof workflowStack>) => void)]>([
    ['TrainingWorkflow inferenceImageUri', { inferenceImageUri: LATE }],
    ['TrainingWorkflow gate primaryMetric', { gate: { ...GATE, primaryMetric: LATE, thresholds: [{ metric: LATE, min: 0.5 }] } }],
    ['TrainingWorkflow gate fairness metric', { gate: { ...GATE, fairness: [{ metric: LATE, maxGap: 0.1 }] } }],
  ])('%s', (_name, overrides) => {
    const { stack } = workflowStack(overrides as Partial<TrainingWorkflowProps>);
    expectReferenced(stack);
  });

  test('TrainingWorkflow candidate name', () => {
    const { stack } = workflowStack({}, undefined, (s, { gpus }) => [
      { name: LATE, trainingJob: MlJobDefinition.training(s, 'Tuned', { queue: gpus, image: image() }) },
    ]);
    expectReferenced(stack);
  });

  test('TrainingWorkflow hyperparameters (a string value)', () => {
    const { stack } = workflowStack({}, undefined, (s, { gpus }) => [
      { name: 'xgb', trainingJob: MlJobDefinition.training(s, 'Tuned', { queue: gpus, image: image() }), hyperparameters: { optimizer: LATE } },
    ]);
    expectReferenced(stack);
  });

  test.each<[string, (m: ReturnType<typeof monitoredStack>) => void]>([
    ['DriftMonitor features', (m) => drift(m, { features: [LATE] })],
    ['DriftMonitor trainingFile', (m) => drift(m, { trainingFile: LATE })],
    ['ModelQualityMonitor labelsPrefix', (m) => new ModelQualityMonitor(m.stack, 'Quality', { endpoint: m.endpoint, labelsPrefix: LATE })],
    ['RetrainingTrigger dataPrefix', (m) => new RetrainingTrigger(m.stack, 'Retrain', { pipeline: m.pipeline, alarms: [drift(m).driftAlarm], dataPrefix: LATE })],
    ['RetrainingTrigger triggerVariableName', (m) =>
      new RetrainingTrigger(m.stack, 'Retrain', { pipeline: m.pipeline, alarms: [drift(m).driftAlarm], triggerVariableName: LATE })],
    ['RetrainingTrigger dataPrefixVariableName', (m) =>
      new RetrainingTrigger(m.stack, 'Retrain', { pipeline: m.pipeline, alarms: [drift(m).driftAlarm], dataPrefix: 'datasets/', dataPrefixVariableName: LATE })],
    ['MlOpsDashboard dashboardName', (m) => new MlOpsDashboard(m.stack, 'Dashboard', { pipeline: m.pipeline, endpoints: [m.endpoint], dashboardName: LATE })],
    ['DeploymentLedger (an endpoint named by a token)', (m) => {
      const named = new ModelEndpoint(m.stack, 'Named', { imageRepository: new ModelImageRepository(m.stack, 'More'), endpointName: LATE, production: true });
      new DeploymentLedger(m.stack, 'Ledger', { endpoints: [named] });
    }],
  ])('%s', (_name, build) => {
    const m = monitoredStack();
    build(m);
    expectReferenced(m.stack);
  });
});

function drift(m: ReturnType<typeof monitoredStack>, props: Record<string, unknown> = {}): DriftMonitor {
  return new DriftMonitor(m.stack, 'Drift', {
    endpoint: m.endpoint, modelPackageGroup: m.registry, modelBucket: m.models, dataBucket: m.data, features: FEATURES, ...props,
  });
}

/** The training workflow fixture plus what MlPipeline wires, with `overrides` on the pipeline. */
function pipelineStack(overrides: (base: ReturnType<typeof workflowStack>) => Partial<MlPipelineProps>) {
  const base = workflowStack();
  const { stack } = base;
  const images = new ModelImageRepository(stack, 'ServingImages');
  const staging = new ModelEndpoint(stack, 'Staging', { imageRepository: images, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
  const production = new ModelEndpoint(stack, 'Production', { imageRepository: images, production: true });
  new MlPipeline(stack, 'Pipeline', {
    source: PipelineSource.connection({ connectionArn: CONNECTION, owner: 'acme', repository: 'fraud-model' }),
    training: base.workflow,
    trainingImageBuild: new TrainingImageBuild(stack, 'TrainingImageBuild', { repository: base.trainingImages }),
    imageBuild: new ServingImageBuild(stack, 'ImageBuild', { repository: images, modelPackageGroup: base.group, modelBucket: base.models }),
    stagingDeployment: new EndpointDeployment(stack, 'StagingDeployment', { endpoint: staging }),
    stagingTest: new EndpointTestRunner(stack, 'StagingTest', { endpoint: staging, samples: SAMPLES }),
    productionDeployment: new EndpointDeployment(stack, 'ProductionDeployment', { endpoint: production }),
    ledger: new DeploymentLedger(stack, 'Ledger', { endpoints: [production] }),
    dataPrefix: 'datasets/fraud/',
    ...overrides(base),
  });
  return stack;
}

describe('pipeline props keep a string token', () => {
  const connection = (props: Record<string, string>) =>
    PipelineSource.connection({ connectionArn: CONNECTION, owner: 'acme', repository: 'fraud-model', ...props });
  test.each<[string, (base: ReturnType<typeof workflowStack>) => Partial<MlPipelineProps>]>([
    ['MlPipeline dataPrefix', () => ({ dataPrefix: LATE })],
    ['MlPipeline pipelineName', () => ({ pipelineName: LATE })],
    ['MlPipeline checkCommands', () => ({ checkCommands: [LATE] })],
    ['MlPipeline dataTriggerSuffix', (base) => ({ dataTriggerBucket: base.data, dataTriggerSuffix: LATE })],
    ['MlPipeline smokeTraining samplePrefix', (base) => ({ smokeTraining: { sampleBucket: base.data, samplePrefix: LATE, commands: ['python train.py --data "$DATA_SAMPLE_DIR"'] } })],
    ['PipelineSource.connection connectionArn', () => ({ source: connection({ connectionArn: LATE }) })],
    ['PipelineSource.connection owner', () => ({ source: connection({ owner: LATE }) })],
    ['PipelineSource.connection repository', () => ({ source: connection({ repository: LATE }) })],
    ['PipelineSource.connection branch', () => ({ source: connection({ branch: LATE }) })],
    ['PipelineSource.s3 objectKey', (base) => ({ source: PipelineSource.s3({ bucket: base.data, objectKey: LATE }) })],
    ['PipelineSource.connection connectionArn from Fn.importValue', () => ({ source: connection({ connectionArn: Fn.importValue('shared-connection-arn') }) })],
  ])('%s', (name, overrides) => {
    const stack = pipelineStack(overrides);
    if (name.includes('importValue')) {
      expect(JSON.stringify(Template.fromStack(stack).toJSON())).toContain('{"Fn::ImportValue":"shared-connection-arn"}');
    } else {
      expectReferenced(stack);
    }
  });
});

describe('a string the library must know at synth says so, without printing the token', () => {
  test.each<[string, (stack: Stack, s: string) => void, RegExp]>([
    ['SpotGpuQueue instanceTypes: the capacity is computed from the type', (stack, s) =>
      new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network'), instanceTypes: [new ec2.InstanceType(s)] }),
    /SpotGpuQueue 'Test\/Gpus': invalid instanceTypes 'a token'\. The queue's capacity and the jobs' checks come from the instance type at synth/],
    ['SpotCpuQueue instanceTypes', (stack, s) =>
      new SpotCpuQueue(stack, 'Cpus', { network: new BatchNetwork(stack, 'Network'), platform: ComputePlatform.EC2, instanceTypes: [new ec2.InstanceType(s)] }),
    /SpotCpuQueue 'Test\/Cpus': invalid instanceTypes 'a token'/],
    ['EndpointTestRunner samples body as one token: it is parsed at synth', (stack, s) =>
      new EndpointTestRunner(stack, 'Test', { endpoint: endpoint(stack), samples: [{ name: 'typical', body: s }] }),
    /EndpointTestRunner 'Test\/Test': invalid samples\[0\]\.body 'a token'\. The text is parsed at synth/],
    ['EndpointTestRunner samples expectedJson as one token', (stack, s) =>
      new EndpointTestRunner(stack, 'Test', { endpoint: endpoint(stack), samples: [{ name: 'typical', body: '{}', expectedJson: s }] }),
    /invalid samples\[0\]\.expectedJson 'a token'\. The text is parsed at synth/],
  ])('%s', (_name, build, message) => {
    const stack = new Stack(new App(), 'Test');
    const s = parameter(stack);
    let thrown = '';
    try {
      build(stack, s);
    } catch (e) {
      thrown = (e as Error).message;
    }
    expect(thrown).toMatch(message);
    expect(thrown).not.toMatch(/\$\{Token\[/);
  });
});
