import { CfnResource, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, IConstruct } from 'constructs';
import { acknowledge, exemptFromControlTower } from '../private/acknowledge';
import { inCompliancePacks, INLINE_ROLE_POLICY } from '../private/common-findings';
import { encryptedLogGroup, logsKey } from '../private/log-group';
import { REASONS } from '../private/nag-reasons';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** The largest number of Availability Zones in any AWS region (us-east-1 has six). */
const MAX_AZS = 6;

/** The subnet group names of a created VPC: compute in private subnets (NAT, endpoints) or in public ones. */
const COMPUTE_SUBNETS = 'Private';
const PUBLIC_SUBNETS = 'Public';
const PUBLIC_COMPUTE_SUBNETS = 'Compute';
const DEFAULT_CIDR = '10.0.0.0/16';
/** The stack-level log group of aws-cdk-lib's handler that closes default security groups. */
const RESTRICT_SG_LOGS_ID = 'MlOpsRestrictDefaultSgLogs';

/**
 * What Batch compute needs without an internet route: the ECS agent (ecs, ecs-agent, ecs-telemetry), image pulls
 * (ecr.api for the token and manifests, ecr.dkr for the registry; the layers come from S3 through the gateway
 * endpoint), container logs (logs) and role credentials for SDKs that call STS (sts).
 */
const BATCH_ENDPOINT_SERVICES = [
  ec2.InterfaceVpcEndpointAwsService.ECR,
  ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
  ec2.InterfaceVpcEndpointAwsService.ECS,
  ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
  ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
  ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
  ec2.InterfaceVpcEndpointAwsService.STS,
];

/**
 * How the compute of a {@link BatchNetwork} reaches AWS APIs and, for some options, the internet. Only for a VPC the
 * construct creates: an imported VPC's egress is its owner's business.
 *
 * Batch EC2 instances need the ECS, ECR, S3 and CloudWatch Logs endpoints (the ECS agent registers the instance,
 * pulls the image and sends the logs); Fargate jobs need ECR, S3 and CloudWatch Logs (AWS Batch user guide,
 * "Compute environments" and "Considerations for AWS Batch" interface endpoints). Idle monthly costs are us-east-1
 * list prices (730 hours a month), before data: check your region's prices. Whatever the choice, S3 traffic
 * (datasets, checkpoints, model artifacts and ECR image layers) goes through the S3 gateway endpoint, which is free.
 *
 * An IPv6 egress-only internet gateway (free, no per-GB charge) is not an option: every endpoint the compute needs
 * (ECS, ECR, CloudWatch Logs, STS) would have to be reached over IPv6, and IPv4-only instances and Fargate tasks still
 * need one of the options here.
 */
export class BatchEgress {
  /**
   * No NAT: the compute runs in public subnets that give each instance and Fargate task a public IPv4 address, and
   * reaches AWS and the internet through the VPC's internet gateway. The compute security group admits nothing
   * inbound, so nothing from the internet can open a connection to the compute; replies to its own connections come
   * back. Fargate jobs ask for their address (`assignPublicIp`), as AWS Batch requires in subnets without a NAT
   * gateway.
   *
   * Idle: $0 (internet gateway, subnets and the S3 gateway endpoint are free). While jobs run: $0.005/hour for the
   * public IPv4 address of each running instance or Fargate task (AWS charges public IPv4 addresses per hour while
   * attached; no address exists while nothing runs). No per-GB processing charge. The internet gateway is a
   * redundant, horizontally scaled part of the VPC in every zone: no single point of failure, unlike one NAT.
   *
   * The trade-off is exposure: every instance has a public address, so one added ingress rule would open it to the
   * internet (this construct adds none; review changes to `securityGroup`). Choose `NAT_GATEWAY` when policy forbids
   * public addresses, or `interfaceEndpoints()` when the compute must not reach the internet at all.
   */
  public static readonly PUBLIC_SUBNETS = new BatchEgress('PUBLIC_SUBNETS', []);

  /**
   * One NAT gateway for the whole VPC, in the first Availability Zone, and an internet route from the compute
   * subnets: jobs can reach any AWS API and the internet (pip, Hugging Face, ...).
   *
   * Idle: $0.045/hour ≈ $32.85/month for the gateway, plus $0.005/hour ≈ $3.65/month for its public IPv4 address:
   * ≈ $36.50/month. Data: $0.045/GB processed (S3 traffic avoids it through the gateway endpoint), plus $0.01/GB
   * each way for traffic from the other Availability Zones.
   *
   * One gateway instead of one per Availability Zone trades resilience for cost: if its zone fails, the jobs in the
   * other zones lose egress too (a gateway per zone would cost ≈ $36.50/month more for each extra zone). Batch
   * retries the jobs; add gateways with your own VPC if that is not enough.
   */
  public static readonly NAT_GATEWAY = new BatchEgress('NAT_GATEWAY', []);

  /**
   * One NAT instance (t4g.nano, Amazon Linux 2023, IMDSv2 only, encrypted root volume) for the whole VPC: the
   * cheapest internet egress, but yours to run. Nothing replaces it when it fails or its zone does (jobs then lose
   * egress until you start it again or redeploy), and it is patched only by replacement: a deployment after AWS
   * publishes a new Amazon Linux 2023 image replaces it, with a few minutes without egress.
   *
   * Idle: $0.0042/hour ≈ $3.07/month for the instance, plus ≈ $0.64/month for its 8 GB gp3 root volume and
   * $0.005/hour ≈ $3.65/month for its public IPv4 address: ≈ $7.36/month. Data: no processing charge, but a
   * t4g.nano bursts to 5 Gbit/s and sustains far less, and heavy use past its CPU baseline adds unlimited-mode
   * CPU credit charges: keep bulk data on S3 (the gateway endpoint).
   */
  public static readonly NAT_INSTANCE = new BatchEgress('NAT_INSTANCE', []);

  /**
   * No internet route at all: the compute subnets are isolated and reach AWS through interface endpoints (with
   * private DNS, in the compute subnets, open to the VPC's CIDR on their port) for ecr.api, ecr.dkr, ecs,
   * ecs-agent, ecs-telemetry, logs and sts, plus the S3 gateway endpoint. Jobs that call other AWS services need
   * their endpoints too: pass them as `additionalServices`. Nothing can reach the internet.
   *
   * Idle: $0.01/hour ≈ $7.30/month per endpoint per Availability Zone: with the 7 endpoints, ≈ $153.30/month in 3
   * zones (the default `maxAzs`), ≈ $102.20/month in 2 zones; each additional service adds $7.30/month per zone.
   * Data: $0.01/GB processed. It costs more idle than a NAT gateway: choose it when the compute must not reach the
   * internet.
   *
   * @param additionalServices interface endpoints for the other AWS services jobs call (for example
   *   `ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API`); those already included are ignored
   */
  public static interfaceEndpoints(additionalServices: ec2.InterfaceVpcEndpointAwsService[] = []): BatchEgress {
    const services = [...BATCH_ENDPOINT_SERVICES];
    for (const service of additionalServices) {
      if (!services.some((s) => s.shortName === service.shortName)) services.push(service);
    }
    return new BatchEgress('INTERFACE_ENDPOINTS', services);
  }

  private constructor(
    /** The option: PUBLIC_SUBNETS, NAT_GATEWAY, NAT_INSTANCE or INTERFACE_ENDPOINTS. */
    public readonly name: string,
    /** The interface endpoints the option creates (none for the NAT options). */
    public readonly endpointServices: ec2.InterfaceVpcEndpointAwsService[],
  ) {}
}

/** The network that AWS Batch compute environments run in. */
export interface IBatchNetwork extends IConstruct, ec2.IConnectable {
  /** The VPC. */
  readonly vpc: ec2.IVpc;
  /** The subnets the compute (EC2 instances or Fargate tasks) runs in. */
  readonly subnets: ec2.SubnetSelection;
  /** The security group of the compute instances and Fargate tasks: no ingress, all egress. */
  readonly securityGroup: ec2.ISecurityGroup;
  /**
   * Whether the compute gets public IPv4 addresses and reaches AWS through an internet gateway (no NAT): Fargate jobs
   * must then ask for a public IP, or they cannot pull their image.
   * @default false
   */
  readonly publicIpEgress?: boolean;
}

/** Props for {@link BatchNetwork}. */
export interface BatchNetworkProps {
  /**
   * An existing VPC to run the compute in. Its egress, endpoints and flow logs are its owner's business: only the
   * compute security group is created, and `egress`, `maxAzs`, `ipAddresses` and `flowLogRetention` must not be
   * given.
   * @default - a VPC is created
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets the compute runs in. In an imported VPC, private subnets only (this construct cannot tell whether a
   * public subnet maps public IPs, and without one the compute has no egress).
   * @default - the created VPC's compute subnets; for an imported VPC, its private subnets with egress
   */
  readonly subnets?: ec2.SubnetSelection;
  /**
   * How the compute reaches AWS APIs and the internet. Only for a created VPC.
   * @default BatchEgress.PUBLIC_SUBNETS - public subnets with no inbound rules: $0 idle, $0.005/hour per running
   *   instance or task for its public IPv4 address
   */
  readonly egress?: BatchEgress;
  /**
   * How many Availability Zones the created VPC spans (1-6). More zones give Batch more spot capacity pools
   * (GPU instances are often short in one zone), which costs nothing idle with public subnets or a NAT option
   * (subnets are free; the NAT is shared) but $7.30/month per interface endpoint per zone with
   * `BatchEgress.interfaceEndpoints()`.
   * Environment-agnostic stacks get at most 2 zones whatever the value.
   * @default 3
   */
  readonly maxAzs?: number;
  /**
   * The created VPC's IPv4 range. The compute subnets get /20 blocks (4,096 addresses per zone: Fargate tasks and
   * awsvpc jobs take one each), the NAT subnets /24 blocks. Only for a created VPC.
   * @default ec2.IpAddresses.cidr('10.0.0.0/16')
   */
  readonly ipAddresses?: ec2.IIpAddresses;
  /**
   * How long the created VPC's flow logs are kept. Only for a created VPC.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly flowLogRetention?: logs.RetentionDays;
}

/**
 * The network for AWS Batch training and evaluation compute. Either it creates a VPC (compute subnets in up to
 * `maxAzs` zones, flow logs to an encrypted log group, a free S3 gateway endpoint for data, checkpoints and image
 * layers, and the egress you choose: public subnets by default, which cost nothing idle), or it uses yours. Either
 * way it creates the compute security group: no ingress, all egress.
 *
 * @example
 * // A new VPC whose compute runs in public subnets without inbound rules ($0 idle)
 * const network = new BatchNetwork(this, 'Network');
 *
 * // A new VPC with one NAT gateway: no public IP on the compute (≈ $36.50/month idle in us-east-1)
 * const natted = new BatchNetwork(this, 'NattedNetwork', { egress: BatchEgress.NAT_GATEWAY });
 *
 * // A new VPC without internet access: interface endpoints only (≈ $102.20/month idle in 2 zones)
 * const isolated = new BatchNetwork(this, 'IsolatedNetwork', {
 *   egress: BatchEgress.interfaceEndpoints(),
 *   maxAzs: 2,
 * });
 *
 * // Your VPC, its private subnets
 * const shared = BatchNetwork.fromVpc(this, 'SharedNetwork', ec2.Vpc.fromLookup(this, 'Vpc', { vpcName: 'shared' }));
 */
export class BatchNetwork extends Construct implements IBatchNetwork {
  /**
   * Uses an existing VPC: creates only the compute security group. Equivalent to `new BatchNetwork(scope, id,
   * { vpc, subnets })`.
   * @param subnets the private subnets for the compute; default: the VPC's private subnets with egress
   */
  public static fromVpc(scope: Construct, id: string, vpc: ec2.IVpc, subnets?: ec2.SubnetSelection): IBatchNetwork {
    return new BatchNetwork(scope, id, { vpc, subnets });
  }

  /** The VPC: created (child id 'Vpc') or the one passed in. */
  public readonly vpc: ec2.IVpc;
  /** The subnets the compute runs in. */
  public readonly subnets: ec2.SubnetSelection;
  /** Whether the compute gets public IPv4 addresses and reaches AWS through the internet gateway. */
  public readonly publicIpEgress?: boolean;
  /** The security group of the compute: no ingress, all egress. */
  public readonly securityGroup: ec2.ISecurityGroup;
  /** The compute's connections, to open other resources to it (for example `efs.connections.allowDefaultPortFrom(network)`). */
  public readonly connections: ec2.Connections;
  /** The egress of the created VPC; undefined for an imported VPC. */
  public readonly egress?: BatchEgress;
  /** The log group of the created VPC's flow logs; undefined for an imported VPC. */
  public readonly flowLogGroup?: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: BatchNetworkProps = {}) {
    super(scope, id);
    if (props.vpc) {
      this.rejectCreatedVpcProps(props);
      this.vpc = props.vpc;
      this.subnets = props.subnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    } else {
      const maxAzs = props.maxAzs ?? 3;
      if (isConcrete(maxAzs) && (!Number.isInteger(maxAzs) || maxAzs < 1 || maxAzs > MAX_AZS)) {
        throw new MlOpsValidationError(this, 'BatchNetwork', 'maxAzs', maxAzs,
          `Give a whole number of Availability Zones from 1 to ${MAX_AZS} (regions have at most ${MAX_AZS}), for example 3.`);
      }
      this.egress = props.egress ?? BatchEgress.PUBLIC_SUBNETS;
      const created = this.createVpc(maxAzs, this.egress, props);
      this.vpc = created.vpc;
      this.flowLogGroup = created.flowLogGroup;
      this.subnets = props.subnets ?? { subnetGroupName: computeSubnetGroup(this.egress) };
    }
    this.publicIpEgress = this.egress?.name === BatchEgress.PUBLIC_SUBNETS.name;
    this.validateSubnets(this.subnets);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: `cdk-mlops: AWS Batch compute of ${this.node.path} (no ingress)`,
      allowAllOutbound: true,
    });
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup] });

    if (this.egress && this.egress.endpointServices.length > 0) this.addInterfaceEndpoints(this.egress, this.vpcCidr(props));
  }

  private rejectCreatedVpcProps(props: BatchNetworkProps): void {
    const onlyForCreated: Array<[string, unknown]> = [
      ['egress', props.egress?.name],
      ['maxAzs', props.maxAzs],
      ['ipAddresses', props.ipAddresses && (props.ipAddresses.allocateVpcCidr().cidrBlock ?? 'an IPAM allocation')],
      ['flowLogRetention', props.flowLogRetention],
    ];
    for (const [prop, value] of onlyForCreated) {
      if (value !== undefined) {
        throw new MlOpsValidationError(this, 'BatchNetwork', prop, value,
          `It applies only to a VPC this construct creates and would be ignored with the imported vpc: configure ${prop === 'egress'
            ? 'the egress (NAT or endpoints)' : 'it'} in that VPC, or drop vpc to create one.`);
      }
    }
  }

  private createVpc(maxAzs: number, egress: BatchEgress, props: BatchNetworkProps): { vpc: ec2.Vpc; flowLogGroup: logs.ILogGroup } {
    const natInstance = egress.name === BatchEgress.NAT_INSTANCE.name;
    const nat = natInstance || egress.name === BatchEgress.NAT_GATEWAY.name;
    const natInstances = natInstance
      ? ec2.NatProvider.instanceV2({
        instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.NANO),
        // The public subnets map no public IP on launch: the NAT instance asks for its own.
        associatePublicIpAddress: true,
        // Ingress is opened to the VPC only, below (the default would open every port to the internet).
        defaultAllowedTraffic: ec2.NatTrafficDirection.OUTBOUND_ONLY,
      })
      : undefined;

    const publicCompute = egress.name === BatchEgress.PUBLIC_SUBNETS.name;
    const computeSubnets = computeSubnetGroup(egress);
    const vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: props.ipAddresses ?? ec2.IpAddresses.cidr(DEFAULT_CIDR),
      maxAzs,
      natGateways: nat ? 1 : 0,
      natGatewayProvider: natInstances,
      subnetConfiguration: publicCompute
        // Every instance and Fargate task needs a public IPv4 address to reach the internet gateway.
        ? [{ name: PUBLIC_COMPUTE_SUBNETS, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20, mapPublicIpOnLaunch: true }]
        : [
          ...(nat ? [{ name: PUBLIC_SUBNETS, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false }] : []),
          {
            name: COMPUTE_SUBNETS,
            subnetType: nat ? ec2.SubnetType.PRIVATE_WITH_EGRESS : ec2.SubnetType.PRIVATE_ISOLATED,
            cidrMask: 20,
          },
        ],
      // A custom resource removes the default security group's rules (AWS Security Hub EC2.2): whatever is launched
      // into the VPC without a security group of its own can then neither send nor receive.
      restrictDefaultSecurityGroup: true,
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [{ subnetGroupName: computeSubnets }] },
      },
    });

    const flowLogGroup = encryptedLogGroup(this, 'FlowLogs', { retention: props.flowLogRetention ?? logs.RetentionDays.ONE_YEAR });
    const flowLog = vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });
    const flowLogPolicy = flowLog.node.tryFindChild('IAMRole')?.node.tryFindChild('DefaultPolicy');
    if (flowLogPolicy) acknowledge(flowLogPolicy, INLINE_ROLE_POLICY);

    for (const subnet of vpc.publicSubnets) {
      const route = subnet.node.tryFindChild('DefaultRoute');
      if (!route) continue;
      const reason = publicCompute ? REASONS.ec2.publicComputeRoute : REASONS.ec2.natSubnetRoute(natInstance ? 'instance' : 'gateway');
      acknowledge(route, inCompliancePacks('VPCNoUnrestrictedRouteToIGW', reason));
      if (publicCompute) this.acknowledgePublicIps(subnet);
    }
    this.coverRestrictDefaultSgHandler(vpc);
    if (natInstances) this.hardenNatInstances(natInstances, this.vpcCidr(props) ?? vpc.vpcCidrBlock);
    return { vpc, flowLogGroup };
  }

  /** The findings of compute subnets that map public IPv4 addresses on launch, on the subnet itself. */
  private acknowledgePublicIps(subnet: ec2.ISubnet): void {
    const cfnSubnet = subnet.node.defaultChild as ec2.CfnSubnet;
    acknowledge(cfnSubnet, inCompliancePacks('VPCSubnetAutoAssignPublicIpDisabled', REASONS.ec2.publicComputeIps));
    exemptFromControlTower(cfnSubnet, { subnet_auto_assign_public_ip_disabled_check: REASONS.ec2.publicComputeIps });
  }

  /**
   * The created VPC's CIDR as a literal when it is one (cdk-nag cannot check a security group rule whose CIDR is a
   * token, and reports it); undefined for IPAM-allocated ranges and imported VPCs.
   */
  private vpcCidr(props: BatchNetworkProps): string | undefined {
    if (props.vpc) return undefined;
    const cidr = (props.ipAddresses ?? ec2.IpAddresses.cidr(DEFAULT_CIDR)).allocateVpcCidr().cidrBlock;
    return cidr !== undefined && isConcrete(cidr) ? cidr : undefined;
  }

  /**
   * aws-cdk-lib's handler that closes the default security group is one function per stack, outside this construct.
   * Its log group is created here first (encrypted, with a retention: Lambda would create one with neither), and
   * its Control Tower finding is recorded with the reason. cdk-nag does not inspect it (a plain CfnResource).
   */
  private coverRestrictDefaultSgHandler(vpc: ec2.Vpc): void {
    const stack = Stack.of(this);
    const handler = stack.node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider')?.node.tryFindChild('Handler');
    const restrict = vpc.node.tryFindChild('RestrictDefaultSecurityGroupCustomResource');
    if (!CfnResource.isCfnResource(handler) || !restrict) return;
    exemptFromControlTower(handler, {
      lambda_inside_vpc_check: REASONS.ec2.restrictDefaultSgHandlerOutsideVpc,
    });
    const logGroup = (stack.node.tryFindChild(RESTRICT_SG_LOGS_ID) as logs.LogGroup | undefined) ??
      new logs.LogGroup(stack, RESTRICT_SG_LOGS_ID, {
        logGroupName: Fn.join('', ['/aws/lambda/', handler.ref]),
        encryptionKey: logsKey(stack),
        retention: logs.RetentionDays.ONE_YEAR,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    // The log group must exist before the handler first runs, or Lambda creates its own.
    restrict.node.addDependency(logGroup);
  }

  private hardenNatInstances(natInstances: ec2.NatInstanceProviderV2, vpcCidr: string): void {
    // TCP and UDP from the VPC only: a rule for all protocols is reported by the HIPAA / NIST / PCI packs whatever its source.
    natInstances.connections.allowFrom(ec2.Peer.ipv4(vpcCidr), ec2.Port.allTcp(), 'TCP from the VPC to the internet');
    natInstances.connections.allowFrom(ec2.Peer.ipv4(vpcCidr), ec2.Port.allUdp(), 'UDP from the VPC to the internet');
    for (const instance of natInstances.gatewayInstances) {
      const cfn = instance.instance;
      // IMDSv2 only, one hop: the NAT instance's credentials stay on the instance.
      cfn.metadataOptions = { httpEndpoint: 'enabled', httpTokens: 'required', httpPutResponseHopLimit: 1 };
      // The root volume encrypted (with the AWS managed EBS key), gp3, deleted with the instance.
      cfn.blockDeviceMappings = [{ deviceName: '/dev/xvda', ebs: { encrypted: true, volumeType: 'gp3', deleteOnTermination: true } }];
      acknowledge(cfn, {
        'AwsSolutions-EC28': REASONS.ec2.natInstanceBasicMonitoring,
        'HIPAA.Security-EC2InstanceDetailedMonitoringEnabled': REASONS.ec2.natInstanceBasicMonitoring,
        'AwsSolutions-EC29': REASONS.ec2.natInstanceNoTerminationProtection,
        ...inCompliancePacks('EC2InstanceNoPublicIp', REASONS.ec2.natInstancePublicIp),
        ...inCompliancePacks('EC2InstancesInVPC', REASONS.ec2.natInstanceInVpc),
      });
      exemptFromControlTower(cfn, {
        ec2_instance_no_public_ip_check: REASONS.ec2.natInstancePublicIp,
        ec2_instance_detailed_monitoring_enabled_check: REASONS.ec2.natInstanceBasicMonitoring,
        ec2_instance_nitro_encryption_in_transit_check: REASONS.ec2.natInstanceNoNitroEncryption,
      });
    }
  }

  private addInterfaceEndpoints(egress: BatchEgress, vpcCidr: string | undefined): void {
    const vpc = this.vpc;
    const endpointSecurityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc,
      description: `cdk-mlops: interface endpoints of ${this.node.path}, open to the VPC`,
      allowAllOutbound: false,
    });
    const peer = ec2.Peer.ipv4(vpcCidr ?? vpc.vpcCidrBlock);
    for (const port of [...new Set(egress.endpointServices.map((s) => s.port))]) {
      endpointSecurityGroup.addIngressRule(peer, ec2.Port.tcp(port), `From the VPC to the interface endpoints (TCP ${port})`);
    }
    for (const service of egress.endpointServices) {
      vpc.addInterfaceEndpoint(`${pascalCase(service.shortName)}Endpoint`, {
        service,
        privateDnsEnabled: true,
        subnets: this.subnets,
        securityGroups: [endpointSecurityGroup],
        open: false,
      });
    }
  }

  private validateSubnets(selection: ec2.SubnetSelection): void {
    let selected: ec2.SelectedSubnets;
    try {
      selected = this.vpc.selectSubnets(selection);
    } catch (error) {
      throw new MlOpsValidationError(this, 'BatchNetwork', 'subnets', describeSelection(selection),
        `It selects no subnet of the VPC (${(error as Error).message}): select its private subnets, for example ` +
        '{ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } or { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }.');
    }
    if (selected.subnets.length === 0) {
      throw new MlOpsValidationError(this, 'BatchNetwork', 'subnets', describeSelection(selection),
        'It selects no subnet of the VPC: select its private subnets, for example { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }.');
    }
    const publicIds = new Set(this.vpc.publicSubnets.map((s) => s.subnetId).filter((s) => isConcrete(s)));
    const isPublic = selected.hasPublic || selected.subnetIds.some((s) => isConcrete(s) && publicIds.has(s));
    if (this.publicIpEgress) {
      const publicCompute = new Set(this.vpc.selectSubnets({ subnetGroupName: PUBLIC_COMPUTE_SUBNETS }).subnets);
      if (selected.subnets.some((s) => !publicCompute.has(s))) {
        throw new MlOpsValidationError(this, 'BatchNetwork', 'subnets', describeSelection(selection),
          `With BatchEgress.PUBLIC_SUBNETS the compute runs in the '${PUBLIC_COMPUTE_SUBNETS}' subnets, which map public IPs: ` +
          `select among them ({ subnetGroupName: '${PUBLIC_COMPUTE_SUBNETS}', availabilityZones: [...] }) or drop subnets.`);
      }
      return;
    }
    if (isPublic) {
      throw new MlOpsValidationError(this, 'BatchNetwork', 'subnets', describeSelection(selection),
        'It selects public subnets: the compute gets no public IP there, so it would have no egress (and should not be ' +
        'exposed anyway). Select private subnets only, for example { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }.');
    }
  }
}

/** The subnet group of a created VPC's compute. */
function computeSubnetGroup(egress: BatchEgress): string {
  return egress.name === BatchEgress.PUBLIC_SUBNETS.name ? PUBLIC_COMPUTE_SUBNETS : COMPUTE_SUBNETS;
}

/** 'ecr.api' -> 'EcrApi', 'ecs-agent' -> 'EcsAgent'. */
function pascalCase(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter((p) => p).map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

function describeSelection(selection: ec2.SubnetSelection): string {
  const parts: string[] = [];
  if (selection.subnetType) parts.push(`subnetType: ${selection.subnetType}`);
  if (selection.subnetGroupName) parts.push(`subnetGroupName: ${selection.subnetGroupName}`);
  if (selection.availabilityZones) parts.push(`availabilityZones: [${selection.availabilityZones.join(', ')}]`);
  if (selection.subnets) {
    parts.push(`subnets: [${selection.subnets.map((s) => (Token.isUnresolved(s.subnetId) ? '(token)' : s.subnetId)).join(', ')}]`);
  }
  if (selection.subnetFilters) parts.push(`${selection.subnetFilters.length} subnetFilters`);
  return `{ ${parts.join(', ')} }`;
}
