import { App, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  BatchNetwork, BucketPurpose, DataVersionSnapshot, DataVersionTrigger, DeploymentLedger, DriftMonitor, EndpointTestRunner,
  LatestApprovedModelLookup, MlJobDefinition, ModelEndpoint, ModelImageRepository, ModelPackageGroup, ModelQualityMonitor,
  RetrainingTrigger, SpotCpuQueue, SpotGpuQueue, TrainingWorkflow, VersionedBucket,
} from '../../lib';
import { FEATURES, monitoredStack } from '../monitoring/fixture';
import { complianceFindings, stackFindings } from '../support/compliance';

/** A VPC whose private subnets reach AWS APIs through one NAT gateway, with flow logs (AwsSolutions-VPC7). */
function handlerVpc(stack: Stack): ec2.Vpc {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  vpc.addFlowLog('FlowLogs');
  return vpc;
}

// The VPC is the app's own (its public subnets and default security group are findings of the app, not the library).
const libraryFindings = (findings: string[]) => findings.filter((f) => !f.includes(' at Test/Vpc/'));

/** Every construct of the library that creates functions, each given the VPC and its isolated subnets. */
function everyFunctionInVpc(stack: Stack): void {
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC },
      { name: 'Private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      { name: 'Handlers', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    ],
  });
  vpc.addFlowLog('FlowLogs');
  const placement = { vpc, vpcSubnets: { subnetGroupName: 'Handlers' } };
  const data = new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA });
  const models = new ModelPackageGroup(stack, 'Registry');
  const images = new ModelImageRepository(stack, 'TrainingImages');
  const network = new BatchNetwork(stack, 'Network');
  const image = ecs.ContainerImage.fromEcrRepository(images.repository, 'placeholder-never-run');
  const train = MlJobDefinition.training(stack, 'Train', { queue: new SpotGpuQueue(stack, 'Gpus', { network }), image });
  const evaluate = MlJobDefinition.evaluation(stack, 'Evaluate', { queue: new SpotCpuQueue(stack, 'Cpus', { network }), image, memory: Size.gibibytes(2) });
  new TrainingWorkflow(stack, 'Workflow', {
    candidates: [{ name: 'logreg', trainingJob: train }],
    evaluationJob: evaluate,
    modelPackageGroup: models,
    dataBucket: data,
    modelBucket: new VersionedBucket(stack, 'Models', { purpose: BucketPurpose.MODELS }),
    checkpointBucket: new VersionedBucket(stack, 'Checkpoints', { purpose: BucketPurpose.CHECKPOINTS }),
    dataSnapshot: new DataVersionSnapshot(stack, 'DataVersions', { bucket: data, dataPrefix: 'datasets/', ...placement }),
    trainingImageRepository: images,
    inferenceImageUri: images.uriForTag('base'),
    gate: { primaryMetric: 'auc', thresholds: [{ metric: 'auc', min: 0.75 }] },
    ...placement,
  });
  const staging = new ModelEndpoint(stack, 'Staging', { imageRepository: images, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
  new EndpointTestRunner(stack, 'StagingTest', { endpoint: staging, samples: [{ name: 'typical', body: '{"x": 1}' }], ...placement });
  new DeploymentLedger(stack, 'Ledger', { endpoints: [staging], ...placement });
  const pipeline = codepipeline.Pipeline.fromPipelineArn(stack, 'Pipeline', 'arn:aws:codepipeline:us-east-1:123456789012:fraud-ml');
  new DataVersionTrigger(stack, 'OnNewData', { bucket: data, prefix: 'datasets/', pipeline, ...placement });
}

/** The monitoring constructs, each given the VPC. */
function monitorsInVpc(app: App): Stack {
  const parts = monitoredStack(app);
  const vpc = handlerVpc(parts.stack);
  const drift = new DriftMonitor(parts.stack, 'Drift', {
    endpoint: parts.endpoint, modelPackageGroup: parts.registry, modelBucket: parts.models, dataBucket: parts.data, features: FEATURES, vpc,
  });
  new ModelQualityMonitor(parts.stack, 'Quality', { endpoint: parts.endpoint, vpc });
  new RetrainingTrigger(parts.stack, 'Retrain', { pipeline: parts.pipeline, alarms: [drift.driftAlarm], vpc });
  return parts.stack;
}

/** The functions the library's constructs create (not aws-cdk-lib's singleton providers at the stack's root). */
function libraryFunctions(stack: Stack): lambda.Function[] {
  return stack.node.findAll().filter((c): c is lambda.Function => c instanceof lambda.Function && c.node.scopes.length > 3);
}

describe('functions in a VPC', () => {
  test('every function the library creates runs in the given subnets', () => {
    const stack = new Stack(new App(), 'Test');
    everyFunctionInVpc(stack);
    const handlerSubnets = (stack.node.findChild('Vpc') as ec2.Vpc).selectSubnets({ subnetGroupName: 'Handlers' }).subnetIds.map((id) => stack.resolve(id));
    // aws-cdk-lib's own singleton providers (bucket notifications, auto-delete) sit at the stack's root, outside the constructs.
    const functions = libraryFunctions(stack);
    const owners = functions.map((f) => f.node.scopes[2].node.id);
    expect(new Set(owners)).toEqual(new Set(['Workflow', 'DataVersions', 'StagingTest', 'Ledger', 'OnNewData']));
    // The workflow's four handlers, its champion lookup and its job-definition revisions function.
    expect(owners.filter((o) => o === 'Workflow')).toHaveLength(6);
    const template = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    for (const fn of functions) {
      const id = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      expect([fn.node.path, template[id].Properties.VpcConfig?.SubnetIds]).toEqual([fn.node.path, handlerSubnets]);
    }
  });

  test('has no unacknowledged finding in the five packs and Control Tower (the roles\' AWSLambdaVPCAccessExecutionRole included)', () => {
    expect(libraryFindings(complianceFindings((app) => everyFunctionInVpc(new Stack(app, 'Test')), { controlTower: true }))).toEqual([]);
  });

  test('the monitors\' functions run in the VPC\'s private subnets, with no unacknowledged finding', () => {
    const stack = monitorsInVpc(new App());
    const privateSubnets = (stack.node.findChild('Vpc') as ec2.Vpc).privateSubnets.map((s) => stack.resolve(s.subnetId));
    const functions = libraryFunctions(stack);
    expect(new Set(functions.map((f) => f.node.scopes[2].node.id))).toEqual(new Set(['Drift', 'Quality', 'Retrain']));
    const template = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    for (const fn of functions) {
      const id = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      expect([fn.node.path, template[id].Properties.VpcConfig?.SubnetIds]).toEqual([fn.node.path, privateSubnets]);
    }
    expect(libraryFindings(complianceFindings((app) => monitorsInVpc(app)))).toEqual([]);
  });

  test('a lookup function in a VPC has no unacknowledged finding', () => {
    const findings = stackFindings((stack) => {
      new LatestApprovedModelLookup(stack, 'Champion', { modelPackageGroup: new ModelPackageGroup(stack, 'Models'), vpc: handlerVpc(stack) });
    });
    expect(libraryFindings(findings)).toEqual([]);
  });

  test('fails when vpcSubnets is given without vpc', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new DeploymentLedger(stack, 'Ledger', {
      endpoints: [new ModelEndpoint(stack, 'Staging', { imageRepository: new ModelImageRepository(stack, 'Images'), serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } })],
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    })).toThrow(/DeploymentLedger 'Test\/Ledger': missing prop vpc. vpcSubnets selects subnets of a VPC: give vpc too, or remove vpcSubnets./);
  });
});
