import type { CostEstimateOptions, CostItem, FreeWhileIdle, UnknownCost } from '../cost-estimate';
import { findPrice, HOURS_PER_MONTH } from './price-lookup';
import { PriceTable } from '../prices';
import { CfnResourceJson, isTrue, numberOf, referencedId, resourcesOf } from './template-reader';

export interface PricingContext {
  readonly table: PriceTable;
  readonly region: string;
  /** The price keys used, to list the unverified ones. */
  readonly used: Set<string>;
  readonly assumptions: string[];
}

interface IdleResult {
  idle: CostItem[];
  serving: CostItem[];
  unknown: UnknownCost[];
  free: FreeWhileIdle[];
}

/** Units of time a price per unit is multiplied by to make a month. */
const PER_MONTH: Record<string, number> = { hour: HOURS_PER_MONTH, day: HOURS_PER_MONTH / 24, month: 1 };

const PER_USE = 'billed per use only (requests, storage, data or run time): nothing while idle';
const NO_CHARGE = 'no charge of its own';

/** Types that cost nothing while nothing runs, and why. Anything not here and not priced below is unknown. */
const FREE_WHILE_IDLE: Record<string, string> = {
  'AWS::IAM::Role': NO_CHARGE,
  'AWS::IAM::Policy': NO_CHARGE,
  'AWS::IAM::ManagedPolicy': NO_CHARGE,
  'AWS::IAM::InstanceProfile': NO_CHARGE,
  'AWS::KMS::Alias': NO_CHARGE,
  'AWS::Lambda::Function': PER_USE,
  'AWS::Lambda::Permission': NO_CHARGE,
  'AWS::Lambda::EventSourceMapping': NO_CHARGE,
  'AWS::Logs::LogGroup': `${PER_USE} (ingestion per GB, stored logs per GB-month)`,
  'AWS::Logs::SubscriptionFilter': NO_CHARGE,
  'AWS::S3::Bucket': `${PER_USE} (stored objects per GB-month)`,
  'AWS::S3::BucketPolicy': NO_CHARGE,
  'AWS::SNS::Topic': PER_USE,
  'AWS::SNS::TopicPolicy': NO_CHARGE,
  'AWS::SNS::Subscription': NO_CHARGE,
  'AWS::SQS::Queue': PER_USE,
  'AWS::SQS::QueuePolicy': NO_CHARGE,
  'AWS::Events::Rule': 'EventBridge rules on the default bus have no charge; AWS service events are free',
  'AWS::Chatbot::SlackChannelConfiguration': 'AWS Chatbot has no charge of its own (SNS bills the deliveries)',
  'AWS::Batch::JobDefinition': NO_CHARGE,
  'AWS::Batch::JobQueue': NO_CHARGE,
  'AWS::Batch::SchedulingPolicy': NO_CHARGE,
  'AWS::SageMaker::Model': NO_CHARGE,
  'AWS::SageMaker::ModelPackageGroup': NO_CHARGE,
  'AWS::ECR::Repository': `${PER_USE} (stored images per GB-month)`,
  'AWS::CodeBuild::Project': `${PER_USE} (build minutes)`,
  'AWS::CodeStarNotifications::NotificationRule': NO_CHARGE,
  'AWS::StepFunctions::StateMachine': `${PER_USE} (state transitions)`,
  'AWS::ApplicationAutoScaling::ScalableTarget': NO_CHARGE,
  'AWS::ApplicationAutoScaling::ScalingPolicy': NO_CHARGE,
  'AWS::EC2::VPC': NO_CHARGE,
  'AWS::EC2::Subnet': NO_CHARGE,
  'AWS::EC2::RouteTable': NO_CHARGE,
  'AWS::EC2::Route': NO_CHARGE,
  'AWS::EC2::SubnetRouteTableAssociation': NO_CHARGE,
  'AWS::EC2::InternetGateway': NO_CHARGE,
  'AWS::EC2::EgressOnlyInternetGateway': NO_CHARGE,
  'AWS::EC2::VPCGatewayAttachment': NO_CHARGE,
  'AWS::EC2::VPCCidrBlock': NO_CHARGE,
  'AWS::EC2::SecurityGroup': NO_CHARGE,
  'AWS::EC2::SecurityGroupIngress': NO_CHARGE,
  'AWS::EC2::SecurityGroupEgress': NO_CHARGE,
  'AWS::EC2::NetworkAcl': NO_CHARGE,
  'AWS::EC2::NetworkAclEntry': NO_CHARGE,
  'AWS::EC2::SubnetNetworkAclAssociation': NO_CHARGE,
  'AWS::EC2::LaunchTemplate': NO_CHARGE,
  'AWS::EC2::FlowLog': `${PER_USE} (the logs it delivers)`,
  'AWS::SSM::Parameter': 'standard parameters have no charge',
  'AWS::CDK::Metadata': NO_CHARGE,
  'AWS::CloudFormation::CustomResource': 'its handler runs on deployment only',
};

class Collector {
  public readonly result: IdleResult = { idle: [], serving: [], unknown: [], free: [] };
  constructor(private readonly ctx: PricingContext) {}

  /** A priced item, or an unknown one when the table has no price for the key in the region. */
  public add(list: 'idle' | 'serving', logicalId: string, resourceType: string, key: string, quantity: number,
    extra: { note?: string; laterPerUnit?: number } = {}): void {
    const price = findPrice(this.ctx.table, key, this.ctx.region);
    if (!price) {
      this.unknown(logicalId, resourceType, `no price for '${key}' in ${this.ctx.region} in the table`);
      return;
    }
    this.ctx.used.add(key);
    const perMonth = PER_MONTH[price.entry.unit] ?? 1;
    const monthlyUsd = round(quantity * price.usd * perMonth);
    const item: CostItem = {
      logicalId,
      resourceType,
      description: price.entry.description,
      quantity,
      unit: price.entry.unit,
      unitPriceUsd: price.usd,
      monthlyUsd,
      source: price.entry.source,
      unverified: price.entry.unverified ?? false,
      ...(extra.laterPerUnit ? { laterMonthlyUsd: round(monthlyUsd + quantity * extra.laterPerUnit) } : {}),
      ...(extra.note ?? price.entry.note ? { note: extra.note ?? price.entry.note } : {}),
    };
    this.result[list].push(item);
  }

  public unknown(logicalId: string, resourceType: string, reason: string): void {
    this.result.unknown.push({ logicalId, resourceType, reason });
  }

  public free(logicalId: string, resourceType: string, reason: string): void {
    this.result.free.push({ logicalId, resourceType, reason });
  }
}

/** The idle and serving items of a template: each resource that costs money while nothing runs. */
export function idleCosts(template: any, ctx: PricingContext, options: CostEstimateOptions): IdleResult {
  const resources = resourcesOf(template);
  const out = new Collector(ctx);
  const endpointConfigUsers = endpointConfigsInUse(resources);

  for (const [id, resource] of Object.entries(resources)) {
    const type = resource.Type;
    const props = resource.Properties ?? {};
    switch (type) {
      case 'AWS::EC2::NatGateway':
        out.add('idle', id, type, 'vpc:nat-gateway-hour', 1, {
          note: `Plus ${perGb(ctx, 'vpc:nat-gateway-gb')} processed. Its public IPv4 address is priced with its EIP.`,
        });
        break;
      case 'AWS::EC2::EIP':
        out.add('idle', id, type, 'vpc:public-ipv4-hour', 1);
        break;
      case 'AWS::EC2::Instance':
        instance(out, id, resource, resources);
        break;
      case 'AWS::EC2::VPCEndpoint':
        vpcEndpoint(out, id, resource);
        break;
      case 'AWS::KMS::Key': {
        const rotated = isTrue(props.EnableKeyRotation);
        const rotation = findPrice(ctx.table, 'kms:rotation', ctx.region);
        if (rotated && rotation) ctx.used.add('kms:rotation');
        out.add('idle', id, type, 'kms:key', 1, rotated && rotation
          ? {
            laterPerUnit: 2 * rotation.usd,
            note: `Rotation on: each rotation adds $${rotation.usd}/month (charged for the first two rotations: up to ` +
              `$${2 * rotation.usd}/month more after two years).`,
          }
          : { note: 'Rotation off.' });
        break;
      }
      case 'AWS::CloudWatch::Alarm':
        alarm(out, id, resource);
        break;
      case 'AWS::CloudWatch::Dashboard':
        out.add('idle', id, type, 'cloudwatch:dashboard', 1, { note: 'Free while the account has at most 3 dashboards (CloudWatch free tier).' });
        break;
      case 'AWS::CloudWatch::CompositeAlarm':
        out.add('idle', id, type, 'cloudwatch:composite-alarm', 1);
        break;
      case 'AWS::SageMaker::EndpointConfig':
        endpointConfig(out, id, resource, endpointConfigUsers.get(id));
        break;
      case 'AWS::SageMaker::Endpoint':
        if (referencedId(props.EndpointConfigName) && resources[referencedId(props.EndpointConfigName)!]) {
          out.free(id, type, 'its instances are priced with its endpoint configuration');
        } else {
          out.unknown(id, type, 'its endpoint configuration is not in the template: pass expectedEndpointInstances');
        }
        break;
      case 'AWS::Budgets::Budget':
        out.free(id, type, 'budgets without actions cost $0.00 a budget-day (AWS Budgets offer file)');
        break;
      case 'AWS::Budgets::BudgetsAction':
        // Counted as charged: whether it is one of the account's first two action-enabled budgets is not in the template.
        out.add('idle', id, type, 'budgets:action-enabled-budget-day', 1, {
          note: 'Free when its budget is one of the account\'s first two action-enabled budgets.',
        });
        break;
      case 'AWS::Batch::ComputeEnvironment': {
        const min = numberOf(props.ComputeResources?.MinvCpus) ?? 0;
        if (min > 0) out.unknown(id, type, `minvCpus ${min} keeps instances running while idle; their price is not estimated`);
        else out.free(id, type, 'minvCpus 0: no instance runs while no job does');
        break;
      }
      case 'AWS::CodePipeline::Pipeline':
        if (props.PipelineType === 'V2') out.free(id, type, 'V2 pipelines are billed per action minute only');
        else out.add('idle', id, type, 'codepipeline:v1-active-pipeline-month', 1);
        break;
      case 'AWS::SecretsManager::Secret':
        out.add('idle', id, type, 'secretsmanager:secret-month', 1);
        break;
      default:
        if (FREE_WHILE_IDLE[type]) out.free(id, type, FREE_WHILE_IDLE[type]);
        else if (type.startsWith('Custom::')) out.free(id, type, FREE_WHILE_IDLE['AWS::CloudFormation::CustomResource']);
        else out.unknown(id, type, 'the price table does not know this resource type');
    }
  }

  for (const expected of options.expectedEndpointInstances ?? []) {
    out.add('serving', expected.name, 'AWS::SageMaker::Endpoint', `sagemaker:${expected.instanceType}`, expected.count, {
      note: `${expected.instanceType}: expected endpoint, not in the template`,
    });
  }
  return out.result;
}

function perGb(ctx: PricingContext, key: string): string {
  const price = findPrice(ctx.table, key, ctx.region);
  if (!price) return 'an unknown price per GB';
  ctx.used.add(key);
  return `$${price.usd} per GB`;
}

function instance(out: Collector, id: string, resource: CfnResourceJson, resources: Record<string, CfnResourceJson>): void {
  const props = resource.Properties ?? {};
  const type = typeof props.InstanceType === 'string' ? props.InstanceType : undefined;
  if (!type) out.unknown(id, resource.Type, 'its instance type is not a literal');
  else out.add('idle', id, resource.Type, `ec2:${type}`, 1, { note: `${type}, running all month` });
  // A public IPv4 address is charged per hour as well: asked for by the instance, or mapped by its subnet.
  const interfaces: any[] = Array.isArray(props.NetworkInterfaces) ? props.NetworkInterfaces : [];
  const subnetId = referencedId(props.SubnetId) ?? referencedId(interfaces[0]?.SubnetId);
  const mapped = subnetId ? isTrue(resources[subnetId]?.Properties?.MapPublicIpOnLaunch) : false;
  if (interfaces.some((ni) => isTrue(ni.AssociatePublicIpAddress)) || (interfaces.length === 0 && mapped)) {
    out.add('idle', `${id} (public IPv4)`, resource.Type, 'vpc:public-ipv4-hour', 1);
  }
}

function vpcEndpoint(out: Collector, id: string, resource: CfnResourceJson): void {
  const props = resource.Properties ?? {};
  const kind = props.VpcEndpointType ?? 'Gateway';
  if (kind === 'Gateway') {
    out.free(id, resource.Type, 'gateway endpoints (S3, DynamoDB) have no charge');
  } else if (kind !== 'Interface') {
    out.unknown(id, resource.Type, `endpoint type ${kind} is not in the price table`);
  } else if (!Array.isArray(props.SubnetIds)) {
    out.unknown(id, resource.Type, 'its subnets (one charge per Availability Zone) are not a list in the template');
  } else {
    out.add('idle', id, resource.Type, 'privatelink:interface-endpoint-hour', props.SubnetIds.length, {
      note: `${props.SubnetIds.length} Availability Zone(s), plus data processed per GB`,
    });
  }
}

function alarm(out: Collector, id: string, resource: CfnResourceJson): void {
  const props = resource.Properties ?? {};
  // A metric-math alarm is charged per metric it reads; an alarm on one metric, for that metric.
  const metrics: any[] = Array.isArray(props.Metrics) ? props.Metrics.filter((m: any) => m.MetricStat) : [];
  if (Array.isArray(props.Metrics) && props.ThresholdMetricId) {
    out.unknown(id, resource.Type, 'anomaly-detection alarms are not in the price table');
    return;
  }
  const periods = metrics.length ? metrics.map((m) => numberOf(m.MetricStat.Period) ?? 60) : [numberOf(props.Period) ?? 60];
  const highResolution = periods.filter((p) => p < 60).length;
  const standard = periods.length - highResolution;
  if (standard) out.add('idle', id, resource.Type, 'cloudwatch:alarm-standard', standard);
  if (highResolution) out.add('idle', id, resource.Type, 'cloudwatch:alarm-high-resolution', highResolution);
}

function endpointConfig(out: Collector, id: string, resource: CfnResourceJson, endpoints: string[] | undefined): void {
  const props = resource.Properties ?? {};
  const variants: any[] = [...(props.ProductionVariants ?? []), ...(props.ShadowProductionVariants ?? [])];
  const deployed = endpoints?.length ? `served by ${endpoints.join(', ')}` : 'no endpoint of this template uses it yet';
  let priced = false;
  for (const variant of variants) {
    const name = `${id}/${variant.VariantName ?? 'variant'}`;
    if (variant.ServerlessConfig) {
      if ((numberOf(variant.ServerlessConfig.ProvisionedConcurrency) ?? 0) > 0) {
        out.unknown(name, resource.Type, 'provisioned concurrency of serverless inference is not in the price table');
      }
      continue;
    }
    const type = variant.InstanceType;
    const count = numberOf(variant.InitialInstanceCount) ?? 1;
    if (typeof type !== 'string') out.unknown(name, resource.Type, 'its instance type is not a literal');
    else out.add('serving', name, resource.Type, `sagemaker:${type}`, count, { note: `${count} x ${type}, ${deployed}` });
    priced = true;
  }
  if (!priced) out.free(id, resource.Type, 'serverless variants only: billed per request duration, nothing while idle');
}

function endpointConfigsInUse(resources: Record<string, CfnResourceJson>): Map<string, string[]> {
  const users = new Map<string, string[]>();
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::SageMaker::Endpoint') continue;
    const config = referencedId(resource.Properties?.EndpointConfigName);
    if (config) users.set(config, [...(users.get(config) ?? []), id]);
  }
  return users;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
