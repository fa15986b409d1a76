import { App, CfnParameter, Duration, Size, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import {
  BatchNetwork, BucketPurpose, DeploymentPolicy, DriftMonitor, DriftMonitorProps, EndpointDeployment, EndpointTestRunner,
  EphemeralEndpointTest, MlJobDefinition, ModelEndpoint, ModelImageRepository, ModelQualityMonitor, OnDemandEndpoint,
  QualityGateRules, RetrainingTrigger, RetryPolicy, SpendBudget, SpotCpuQueue, SpotGpuQueue, VersionedBucket,
} from '../../lib';
import { FEATURES, monitoredStack } from '../monitoring/fixture';
import { GATE, workflowStack } from '../workflow/fixture';

function drift(m: ReturnType<typeof monitoredStack>, props: Partial<DriftMonitorProps> = {}): DriftMonitor {
  return new DriftMonitor(m.stack, 'Drift', {
    endpoint: m.endpoint, modelPackageGroup: m.registry, modelBucket: m.models, dataBucket: m.data, features: FEATURES, ...props,
  });
}

/** A number only CloudFormation knows: a Number parameter. */
function parameter(stack: Stack): number {
  return new CfnParameter(stack, 'P', { type: 'Number' }).valueAsNumber;
}

/** Everything the stack synthesizes, resolved: resources and the JSON they embed. */
function synthesized(stack: Stack): string {
  return JSON.stringify(Template.fromStack(stack).toJSON());
}

/** A token's number encoding (around -1.8e+289) or string encoding left in the template: the value was lost. */
function expectNoEncodedToken(template: string) {
  expect(template).not.toMatch(/\d(\.\d+)?e\+\d{3}/);
  expect(template).not.toMatch(/\$\{Token\[|<token>/);
}

const REF = JSON.stringify({ Ref: 'P' });
const image = () => ecs.ContainerImage.fromRegistry('public.ecr.aws/example/trainer:1.0');

/** Each case builds a stack that uses the parameter in one numeric prop. */
const CASES: Array<[string, (stack: Stack, p: number) => void]> = [
  ['ModelEndpoint latencyThreshold', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), latencyThreshold: Duration.millis(p) });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }],
  ['ModelEndpoint errorThreshold', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), errorThreshold: p });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }],
  ['ModelEndpoint initialInstanceCount', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', {
      imageRepository: new ModelImageRepository(stack, 'Images'), initialInstanceCount: p, autoScaling: { maxCapacity: 6 },
    });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }],
  ['ModelEndpoint autoScaling.minCapacity', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), autoScaling: { minCapacity: p } });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }],
  ['ModelEndpoint autoScaling.maxCapacity', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), autoScaling: { maxCapacity: p } });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }],
  ['ModelEndpoint autoScaling.targetInvocationsPerInstance', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', {
      imageRepository: new ModelImageRepository(stack, 'Images'), autoScaling: { targetInvocationsPerInstance: p },
    });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }],
  ['MlJobDefinition gpus', (stack, p) => {
    const queue = new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network') });
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), gpus: p });
  }],
  ['MlJobDefinition vcpus', (stack, p) => {
    const queue = new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network') });
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), vcpus: p });
  }],
  ['EphemeralEndpointTest creationTimeout', (stack, p) => {
    const endpoint = new OnDemandEndpoint(stack, 'Staging', { imageRepository: new ModelImageRepository(stack, 'Images'), instanceType: 'ml.c6i.large' });
    const test = new EndpointTestRunner(stack, 'StagingTest', { endpoint, samples: [{ name: 'typical', body: '{}' }] });
    new EphemeralEndpointTest(stack, 'Ephemeral', { endpoint, test, creationTimeout: Duration.seconds(p) });
  }],
  ['VersionedBucket noncurrentVersionExpiration', (stack, p) => {
    new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA, noncurrentVersionExpiration: Duration.days(p) });
  }],
  ['SpotGpuQueue maxvCpus', (stack, p) => {
    new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network'), maxvCpus: p });
  }],
  ['SpotCpuQueue maxvCpus', (stack, p) => {
    new SpotCpuQueue(stack, 'Cpus', { network: new BatchNetwork(stack, 'Network'), maxvCpus: p });
  }],
  ['SpotGpuQueue onDemandMaxvCpus', (stack, p) => {
    new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network'), onDemandMaxvCpus: p });
  }],
  ['MlJobDefinition shards', (stack, p) => {
    const queue = new SpotCpuQueue(stack, 'Cpus', { network: new BatchNetwork(stack, 'Network') });
    MlJobDefinition.evaluation(stack, 'Evaluate', { queue, image: image(), shards: p });
  }],
  ['MlJobDefinition memory', (stack, p) => {
    const queue = new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network') });
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), memory: Size.mebibytes(p) });
  }],
  ['MlJobDefinition retryPolicy attempts', (stack, p) => {
    const queue = new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network') });
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), retryPolicy: RetryPolicy.spotAware({ attempts: p }) });
  }],
  ['ModelEndpoint dataCaptureSamplingPercentage', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), dataCaptureSamplingPercentage: p });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }],
  ['ModelEndpoint canaryPercent', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', {
      imageRepository: new ModelImageRepository(stack, 'Images'), deploymentPolicy: DeploymentPolicy.canary({ canaryPercent: p }),
    });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }],
  ['EndpointTestRunner invocations', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images') });
    new EndpointTestRunner(stack, 'Test', { endpoint, samples: [{ name: 'typical', body: '{}' }], invocations: p });
  }],
  ['EndpointTestRunner maxErrorRate', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images') });
    new EndpointTestRunner(stack, 'Test', { endpoint, samples: [{ name: 'typical', body: '{}' }], maxErrorRate: p });
  }],
  ['EndpointTestRunner callTimeout', (stack, p) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images') });
    new EndpointTestRunner(stack, 'Test', { endpoint, samples: [{ name: 'typical', body: '{}' }], callTimeout: Duration.millis(p) });
  }],
  ['VersionedBucket noncurrentVersionsToRetain', (stack, p) => {
    new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA, noncurrentVersionsToRetain: p });
  }],
];

describe('a number token (a CfnParameter) reaches the template where the value goes', () => {
  test.each(CASES)('%s', (_name, build) => {
    const stack = new Stack(new App(), 'Test');
    build(stack, parameter(stack));
    const template = synthesized(stack);
    expect(template).toContain(REF);
    expectNoEncodedToken(template);
  });
});

/** Fn::Join parts with the parameter replaced by `value`, joined: what CloudFormation deploys. */
function deployed(rendered: unknown, value: string): string {
  if (typeof rendered === 'string') return rendered;
  const join = (rendered as any)['Fn::Join'];
  expect(join).toBeDefined();
  return join[1].map((part: unknown) => (JSON.stringify(part) === REF ? value : part)).join(join[0]);
}

describe('the quality gate rules keep a token inside GATE_RULES, resolved at deploy time as JSON', () => {
  // The fixture creates the stack, so the token is a Ref to the parameter added to it afterwards.
  const p = Token.asNumber({ Ref: 'P' });
  test.each<[string, QualityGateRules, (rules: any) => unknown]>([
    ['championMargin', { ...GATE, championMargin: p }, (r) => r.championMargin],
    ['fairness.maxGap', { ...GATE, fairness: [{ metric: 'auc', maxGap: p }] }, (r) => r.fairness[0].maxGap],
    ['thresholds.min', { ...GATE, thresholds: [{ metric: 'auc', min: p, max: 1 }] }, (r) => r.thresholds[0].min],
    ['latency.max', { ...GATE, latency: { max: Duration.millis(p) } }, (r) => r.latency.maxMs],
  ])('%s', (_name, gate, read) => {
    const { stack } = workflowStack({ gate });
    new CfnParameter(stack, 'P', { type: 'Number' });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const rendered = Object.values(functions).map((f: any) => f.Properties.Environment?.Variables?.GATE_RULES).filter((v) => v !== undefined);
    expect(rendered).toHaveLength(1);
    expect(read(JSON.parse(deployed(rendered[0], '0.25')))).toBe(0.25);
    expectNoEncodedToken(JSON.stringify(rendered[0]));
  });
});

describe('monitoring and cost props keep a number token', () => {
  // The fixture creates the stack, so the token is a Ref to the parameter added to it afterwards.
  const p = Token.asNumber({ Ref: 'P' });
  test.each<[string, (parts: ReturnType<typeof monitoredStack>) => void]>([
    ['DriftMonitor driftThreshold', (m) => drift(m, { driftThreshold: p })],
    ['DriftMonitor missingFeatureThreshold', (m) => drift(m, { missingFeatureThreshold: p })],
    ['DriftMonitor minInstances', (m) => drift(m, { minInstances: p })],
    ['DriftMonitor bins', (m) => drift(m, { bins: p })],
    ['ModelQualityMonitor minAccuracy', (m) => new ModelQualityMonitor(m.stack, 'Quality', { endpoint: m.endpoint, minAccuracy: p })],
    ['ModelQualityMonitor minAuc', (m) => new ModelQualityMonitor(m.stack, 'Quality', { endpoint: m.endpoint, minAuc: p })],
    ['RetrainingTrigger coolDown', (m) => new RetrainingTrigger(m.stack, 'Retrain', {
      pipeline: m.pipeline, alarms: [drift(m).driftAlarm], coolDown: Duration.seconds(p),
    })],
    ['SpendBudget limitUsd', (m) => new SpendBudget(m.stack, 'Budget', { limitUsd: p })],
    ['SpendBudget actualThresholdPercent', (m) => new SpendBudget(m.stack, 'Budget', { limitUsd: 50, actualThresholdPercent: p })],
  ])('%s', (_name, build) => {
    const parts = monitoredStack();
    build(parts);
    new CfnParameter(parts.stack, 'P', { type: 'Number' });
    const template = synthesized(parts.stack);
    expect(template).toContain(REF);
    expectNoEncodedToken(template);
  });
});

describe('a prop whose value must be known at synth says so, without printing the token', () => {
  test('ModelEndpoint initialInstanceCount as a token with the default maximum (three times it)', () => {
    const stack = new Stack(new App(), 'Test');
    const p = parameter(stack);
    let message = '';
    try {
      new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), initialInstanceCount: p });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/missing prop autoScaling.maxCapacity. initialInstanceCount is a token, so the default maximum .* cannot be computed at synth/);
    expectNoEncodedToken(message);
    expect(message).not.toMatch(/-1\.8/);
  });
});
