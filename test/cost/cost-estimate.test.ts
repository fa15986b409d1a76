import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import {
  BatchEgress, BatchNetwork, BucketPurpose, CostEstimate, CostEstimator, MlJobDefinition, PriceTables, SpotCpuQueue, SpotGpuQueue, VersionedBucket,
} from '../../lib';
import { BUDGETS_PRICES } from '../fixtures/aws/budgets';

/** The logical ids of the template's resources whose type the estimate must price while idle. */
const PRICED_IDLE = new Set(['AWS::EC2::NatGateway', 'AWS::EC2::EIP', 'AWS::EC2::Instance', 'AWS::KMS::Key', 'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::CompositeAlarm', 'AWS::SecretsManager::Secret']);

function synth(build: (stack: Stack) => void): { template: any; estimate: CostEstimate } {
  const app = new App();
  const stack = new Stack(app, 'Test');
  build(stack);
  const template = app.synth().getStackArtifact(stack.artifactId).template;
  return { template, estimate: CostEstimator.fromTemplate(template) };
}

function idsOfTypes(template: any, types: Set<string>): string[] {
  return Object.entries(template.Resources as Record<string, { Type: string }>)
    .filter(([, r]) => types.has(r.Type)).map(([id]) => id).sort();
}

/** Every resource of a priced type is an item; every item names a resource of the template; nothing is dropped. */
function expectItemsMatchTemplate(template: any, estimate: CostEstimate): void {
  const itemIds = [...estimate.idle, ...estimate.serving].map((i) => i.logicalId.replace(/ \(public IPv4\)$/, '').split('/')[0]);
  expect([...new Set(itemIds)].sort()).toEqual(expect.arrayContaining(idsOfTypes(template, PRICED_IDLE)));
  for (const id of itemIds) expect(template.Resources[id]).toBeDefined();
  const accounted = new Set([...itemIds, ...estimate.unknown.map((u) => u.logicalId.split('/')[0]), ...estimate.freeWhileIdle.map((f) => f.logicalId)]);
  expect([...accounted].sort()).toEqual(Object.keys(template.Resources).sort());
}

describe('CostEstimator on the library\'s own constructs', () => {
  test('a BatchNetwork with a NAT gateway costs the gateway and its public IPv4 address, hourly, all month', () => {
    const { template, estimate } = synth((stack) => new BatchNetwork(stack, 'Network', { egress: BatchEgress.NAT_GATEWAY }));
    expectItemsMatchTemplate(template, estimate);
    const nat = estimate.idle.find((i) => i.resourceType === 'AWS::EC2::NatGateway')!;
    const eip = estimate.idle.find((i) => i.resourceType === 'AWS::EC2::EIP')!;
    expect(nat.monthlyUsd).toBeCloseTo(PriceTables.SHIPPED.prices['vpc:nat-gateway-hour'].usd['us-east-1'] * 730, 2);
    expect(eip.monthlyUsd).toBeCloseTo(PriceTables.SHIPPED.prices['vpc:public-ipv4-hour'].usd['us-east-1'] * 730, 2);
    expect(nat.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
    // The S3 gateway endpoint is free; nothing of the network is unknown.
    expect(estimate.freeWhileIdle.some((f) => f.resourceType === 'AWS::EC2::VPCEndpoint')).toBe(true);
    expect(estimate.unknown).toEqual([]);
  });

  test('the default BatchNetwork (public subnets) costs nothing while idle: no NAT, no Elastic IP, no interface endpoint', () => {
    const { template, estimate } = synth((stack) => new BatchNetwork(stack, 'Network'));
    expectItemsMatchTemplate(template, estimate);
    expect(estimate.idle.filter((i) => i.resourceType.startsWith('AWS::EC2::'))).toEqual([]);
    // Only the stack's key (the flow logs' log group) costs money.
    expect(estimate.idle.map((i) => i.resourceType)).toEqual(['AWS::KMS::Key']);
    expect(estimate.unknown).toEqual([]);
  });

  test('per run, the public IPv4 addresses of running instances and Fargate tasks are priced per hour, only without a NAT', () => {
    const run = {
      training: [{ name: 'a', instanceType: 'g4dn.xlarge', hours: 2, instances: 2 }],
      evaluation: [{ name: 'e', vcpus: 1, memoryGiB: 2, hours: 0.5, tasks: 4 }],
    };
    const build = (egress?: BatchEgress) => synth((stack) => {
      const network = new BatchNetwork(stack, 'Network', { egress });
      const gpu = new SpotGpuQueue(stack, 'Gpu', { network });
      const cpu = new SpotCpuQueue(stack, 'Cpu', { network });
      const image = ecs.ContainerImage.fromRegistry('example/train:1');
      MlJobDefinition.training(stack, 'Train', { queue: gpu, image, command: ['train'] });
      MlJobDefinition.evaluation(stack, 'Evaluate', { queue: cpu, image, command: ['evaluate'] });
    }).template;
    const ipv4 = PriceTables.SHIPPED.prices['vpc:public-ipv4-hour'].usd['us-east-1'];
    const publicLines = CostEstimator.fromTemplate(build(), { run }).run.filter((i) => i.name.endsWith('public IPv4'));
    expect(publicLines.map((i) => [i.name, i.quantity, i.unitPriceUsd])).toEqual([
      ['training a (g4dn.xlarge, spot): public IPv4', 4, ipv4],
      ['e (4 x 1 vCPU / 2 GiB, Fargate Spot): public IPv4', 2, ipv4],
    ]);
    const natted = CostEstimator.fromTemplate(build(BatchEgress.NAT_GATEWAY), { run }).run;
    expect(natted.filter((i) => i.name.endsWith('public IPv4'))).toEqual([]);
  });

  test('a BatchNetwork with a NAT instance costs the t4g.nano and the public address it asks for, far less than a gateway', () => {
    const gateway = synth((stack) => new BatchNetwork(stack, 'Network', { egress: BatchEgress.NAT_GATEWAY })).estimate;
    const { template, estimate } = synth((stack) => new BatchNetwork(stack, 'Network', { egress: BatchEgress.NAT_INSTANCE }));
    expectItemsMatchTemplate(template, estimate);
    const instance = estimate.idle.find((i) => i.resourceType === 'AWS::EC2::Instance' && !i.logicalId.endsWith('(public IPv4)'))!;
    expect(instance.note).toContain('t4g.nano');
    expect(estimate.idle.some((i) => i.logicalId.endsWith('(public IPv4)'))).toBe(true);
    expect(estimate.idleMonthlyUsd).toBeLessThan(gateway.idleMonthlyUsd / 3);
  });

  test('interface endpoints are charged per Availability Zone', () => {
    const { template, estimate } = synth((stack) => new BatchNetwork(stack, 'Network', { egress: BatchEgress.interfaceEndpoints(), maxAzs: 2 }));
    expectItemsMatchTemplate(template, estimate);
    const endpoints = estimate.idle.filter((i) => i.resourceType === 'AWS::EC2::VPCEndpoint');
    expect(endpoints.length).toBeGreaterThan(0);
    for (const e of endpoints) expect(e.quantity).toBe(2);
  });

  test('a VersionedBucket\'s KMS key costs $1 a month now and up to $2 more once rotated', () => {
    const { template, estimate } = synth((stack) => new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA }));
    expectItemsMatchTemplate(template, estimate);
    const keys = estimate.idle.filter((i) => i.resourceType === 'AWS::KMS::Key');
    expect(keys.length).toBe(idsOfTypes(template, new Set(['AWS::KMS::Key'])).length);
    for (const key of keys) {
      expect(key.monthlyUsd).toBe(1);
      expect(key.laterMonthlyUsd).toBe(3);
      expect(key.note).toMatch(/Rotation on/);
    }
  });

  test('the worst case of a GPU training job is attempts x attempt timeout x the priciest on-demand type it fits', () => {
    const { template, estimate } = synth((stack) => {
      const network = new BatchNetwork(stack, 'Network');
      const queue = new SpotGpuQueue(stack, 'Gpu', { network });
      MlJobDefinition.training(stack, 'Train', { queue, image: ecs.ContainerImage.fromRegistry('example/train:1'), command: ['train'] });
    });
    const [jobId] = idsOfTypes(template, new Set(['AWS::Batch::JobDefinition']));
    const job = template.Resources[jobId].Properties;
    const worst = estimate.worstCase.find((w) => w.logicalId === jobId)!;
    const hours = job.Timeout.AttemptDurationSeconds / 3600;
    expect(worst.attempts).toBe(job.RetryStrategy.Attempts);
    expect(worst.attemptHours).toBe(hours);
    expect(worst.usd).toBeCloseTo(job.RetryStrategy.Attempts * hours * worst.hourlyUsd!, 1);
    // Two candidates sharing the job definition double it; the id is given without its hash.
    const shared = CostEstimator.fromTemplate(template, { jobCopies: { Train: 2 } }).worstCase.find((w) => w.logicalId === jobId)!;
    expect(jobId).toMatch(/^Train[0-9A-F]{8}$/);
    expect([shared.copies, shared.usd]).toEqual([2, expect.closeTo(2 * worst.usd!, 1)]);
    // Among the compute environments' types, none that fits the job and has a price costs more.
    const types: string[] = Object.values(template.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::Batch::ComputeEnvironment').flatMap((r) => r.Properties.ComputeResources.InstanceTypes ?? []);
    expect(types).toContain(worst.instanceType);
    const max = Math.max(...types.map((t) => PriceTables.SHIPPED.prices[`ec2:${t}`]?.usd['us-east-1'] ?? 0));
    expect(worst.hourlyUsd).toBeLessThanOrEqual(max);
    // The compute environments scale to zero: free while idle, not unknown.
    expect(estimate.unknown.filter((u) => u.resourceType === 'AWS::Batch::ComputeEnvironment')).toEqual([]);
  });
});

describe('CostEstimator on hand-written templates', () => {
  const template = {
    Resources: {
      Alarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Errors', Period: 60 } },
      FastAlarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { MetricName: 'Errors', Period: 10 } },
      MathAlarm: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: { Metrics: [{ Id: 'a', MetricStat: { Period: 60 } }, { Id: 'b', MetricStat: { Period: 60 } }, { Id: 'e', Expression: 'a+b' }] },
      },
      Composite: { Type: 'AWS::CloudWatch::CompositeAlarm', Properties: { AlarmRule: 'ALARM(Alarm)' } },
      Balancer: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: {} },
      Config: {
        Type: 'AWS::SageMaker::EndpointConfig',
        Properties: { ProductionVariants: [{ VariantName: 'AllTraffic', InstanceType: 'ml.c6i.large', InitialInstanceCount: 2 }] },
      },
      Serverless: { Type: 'AWS::SageMaker::EndpointConfig', Properties: { ProductionVariants: [{ VariantName: 'v', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 5 } }] } },
      Endpoint: { Type: 'AWS::SageMaker::Endpoint', Properties: { EndpointConfigName: { 'Fn::GetAtt': ['Config', 'EndpointConfigName'] } } },
      Budget: { Type: 'AWS::Budgets::Budget', Properties: {} },
      BudgetAction: { Type: 'AWS::Budgets::BudgetsAction', Properties: {} },
      Pipeline: { Type: 'AWS::CodePipeline::Pipeline', Properties: { PipelineType: 'V2' } },
      Job: {
        Type: 'AWS::Batch::JobDefinition',
        Properties: { PlatformCapabilities: ['FARGATE'], ContainerProperties: { ResourceRequirements: [{ Type: 'VCPU', Value: '2' }, { Type: 'MEMORY', Value: '4096' }] } },
      },
    },
  };

  test('a type the table does not know is reported as unknown and counted in no total', () => {
    const estimate = CostEstimator.fromTemplate(template);
    expect(estimate.unknown).toEqual([expect.objectContaining({ logicalId: 'Balancer', resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer' })]);
    expect([...estimate.idle, ...estimate.serving].some((i) => i.logicalId === 'Balancer')).toBe(false);
    expect(estimate.freeWhileIdle.some((f) => f.logicalId === 'Balancer')).toBe(false);
  });

  test('a region without a price is unknown, never zero', () => {
    const estimate = CostEstimator.fromTemplate(template, { region: 'ap-southeast-7' });
    expect(estimate.idle).toEqual([]);
    expect(estimate.unknown.map((u) => u.logicalId)).toEqual(expect.arrayContaining(['Alarm', 'Composite', 'Config/AllTraffic']));
  });

  test('alarms are priced per metric, high resolution apart; composite alarms on their own', () => {
    const estimate = CostEstimator.fromTemplate(template);
    const byId = (id: string) => estimate.idle.filter((i) => i.logicalId === id);
    expect(byId('Alarm').map((i) => [i.quantity, i.unitPriceUsd])).toEqual([[1, 0.1]]);
    expect(byId('FastAlarm').map((i) => [i.quantity, i.unitPriceUsd])).toEqual([[1, 0.3]]);
    expect(byId('MathAlarm').map((i) => i.quantity)).toEqual([2]);
    expect(byId('Composite').map((i) => i.monthlyUsd)).toEqual([0.5]);
  });

  test('serving instances are listed apart from the idle total; serverless variants cost nothing idle', () => {
    const estimate = CostEstimator.fromTemplate(template, {
      expectedEndpointInstances: [{ name: 'LaterEndpoint', instanceType: 'ml.g5.xlarge', count: 1 }],
    });
    expect(estimate.serving.map((i) => [i.logicalId, i.quantity])).toEqual([['Config/AllTraffic', 2], ['LaterEndpoint', 1]]);
    expect(estimate.servingMonthlyUsd).toBeCloseTo(2 * 0.102 * 730 + 1.408 * 730, 1);
    expect(estimate.idle.some((i) => i.resourceType.startsWith('AWS::SageMaker'))).toBe(false);
    expect(estimate.freeWhileIdle.map((f) => f.logicalId)).toEqual(expect.arrayContaining(['Serverless', 'Endpoint', 'Pipeline']));
  });

  test('a budget without actions costs nothing; an action-enabled one is counted at its daily price', () => {
    const estimate = CostEstimator.fromTemplate(template);
    expect(estimate.freeWhileIdle.map((f) => f.logicalId)).toContain('Budget');
    const action = estimate.idle.filter((i) => i.resourceType.startsWith('AWS::Budgets'));
    expect(action.map((i) => i.logicalId)).toEqual(['BudgetAction']);
    expect(BUDGETS_PRICES.value.usdPerBudgetDay).toBe(0);
    expect(action[0].monthlyUsd).toBeCloseTo(BUDGETS_PRICES.value.usdPerActionEnabledBudgetDay * 730 / 24, 2);
  });

  test('a job definition without an attempt timeout has an unbounded worst case', () => {
    const estimate = CostEstimator.fromTemplate(template);
    expect(estimate.worstCase.map((w) => w.logicalId)).toEqual(['Job']);
    expect(estimate.worstCase[0].usd).toBeUndefined();
    expect(estimate.worstCase[0].note).toMatch(/no attempt timeout/);
    expect(estimate.worstCaseIncomplete).toBe(true);
  });

  test('the per-run estimate prices candidates at the stated spot discount, Fargate, builds, transitions and action minutes', () => {
    const estimate = CostEstimator.fromTemplate(template, {
      run: {
        training: [{ name: 'xgboost', instanceType: 'g5.xlarge', hours: 2 }, { name: 'mlp', instanceType: 'g5.xlarge', hours: 1, spot: false }],
        evaluation: [{ name: 'evaluate', vcpus: 2, memoryGiB: 4, hours: 0.5, tasks: 8, spot: false }],
        builds: [{ project: 'check', computeType: 'BUILD_GENERAL1_SMALL', minutes: 10 }],
        stateTransitions: 1000,
        pipelineActionMinutes: 100,
      },
    });
    const g5 = PriceTables.SHIPPED.prices['ec2:g5.xlarge'].usd['us-east-1'];
    const discount = PriceTables.SHIPPED.assumptions['ec2:spot-discount'].value;
    const usd = (prefix: string) => estimate.run.filter((r) => r.name.startsWith(prefix)).reduce((a, r) => a + r.usd, 0);
    expect(usd('training xgboost')).toBeCloseTo(2 * g5 * (1 - discount), 2);
    expect(usd('training mlp')).toBeCloseTo(g5, 2);
    expect(usd('evaluate')).toBeCloseTo(8 * 0.5 * (2 * 0.04048 + 4 * 0.004445), 2);
    expect(usd('build check')).toBeCloseTo(0.05, 3);
    expect(usd('Step Functions')).toBeCloseTo(0.025, 3);
    expect(usd('CodePipeline')).toBeCloseTo(0.2, 3);
    expect(estimate.assumptions.join('\n')).toContain(PriceTables.SHIPPED.assumptions['ec2:spot-discount'].statement);
  });

  test('fromAssembly reads a template file of a cloud assembly directory', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-cost-'));
    try {
      fs.writeFileSync(path.join(dir, 'App.template.json'), JSON.stringify(template));
      expect(CostEstimator.fromAssembly(dir, 'App')).toEqual(CostEstimator.fromTemplate(template));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the price table', () => {
  test('is dated, and every price names its AWS page and has a figure for us-east-1 or says which regions it has', () => {
    expect(PriceTables.SHIPPED.asOf).toMatch(/^\d{4}-\d{2}$/);
    for (const [key, entry] of Object.entries(PriceTables.SHIPPED.prices)) {
      expect([key, entry.source]).toEqual([key, expect.stringMatching(/^https:\/\/(aws\.amazon\.com|docs\.aws\.amazon\.com|pricing\.us-east-1\.amazonaws\.com)\//)]);
      expect(Object.keys(entry.usd).length).toBeGreaterThan(0);
    }
    for (const assumption of Object.values(PriceTables.SHIPPED.assumptions)) expect(assumption.statement).toMatch(/assumption/);
  });
});

describe('CostEstimator.fromStack', () => {
  test('estimates the stack as synthesized, at the stack\'s region when it names one', () => {
    const app = new App();
    const stack = new Stack(app, 'Test', { env: { account: '111122223333', region: 'eu-west-1' } });
    new BatchNetwork(stack, 'Network', { egress: BatchEgress.NAT_GATEWAY });
    const estimate = CostEstimator.fromStack(stack);
    expect(estimate.region).toBe('eu-west-1');
    const template = app.synth().getStackArtifact(stack.artifactId).template;
    expect(estimate).toEqual(CostEstimator.fromTemplate(template, { region: 'eu-west-1' }));
    expect(estimate.idle.find((i) => i.resourceType === 'AWS::EC2::NatGateway')!.unitPriceUsd)
      .toBe(PriceTables.SHIPPED.prices['vpc:nat-gateway-hour'].usd['eu-west-1']);
  });
});
