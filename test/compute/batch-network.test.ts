import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { BatchEgress, BatchNetwork, BatchNetworkProps } from '../../lib/compute/batch-network';
import { stackFindings } from '../support/compliance';

function newStack(env = false): Stack {
  return new Stack(new App(), 'Test', env ? { env: { account: '111122223333', region: 'us-east-1' } } : {});
}

function build(props: BatchNetworkProps = {}, stack = newStack()): { stack: Stack; network: BatchNetwork; template: Template } {
  const network = new BatchNetwork(stack, 'Network', props);
  return { stack, network, template: Template.fromStack(stack) };
}

/** Logical ids of the resources of a type whose id starts with a prefix. */
function idsOf(template: Template, type: string, prefix = ''): string[] {
  return Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix)).sort();
}

/** An imported VPC with two private subnets with egress, two public and two isolated ones. */
function importedVpc(stack: Stack): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(stack, 'Imported', {
    vpcId: 'vpc-0123456789abcdef0',
    vpcCidrBlock: '172.16.0.0/16',
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    publicSubnetIds: ['subnet-pub-a', 'subnet-pub-b'],
    privateSubnetIds: ['subnet-priv-a', 'subnet-priv-b'],
    isolatedSubnetIds: ['subnet-iso-a', 'subnet-iso-b'],
  });
}

const ENDPOINT_SERVICES = ['ecr.api', 'ecr.dkr', 'ecs', 'ecs-agent', 'ecs-telemetry', 'logs', 'sts'];

describe('BatchNetwork defaults (a created VPC whose compute runs in public subnets, no NAT)', () => {
  const { stack, network, template } = build();
  const computeSubnets = idsOf(template, 'AWS::EC2::Subnet', 'NetworkVpcComputeSubnet');
  const computeRouteTables = idsOf(template, 'AWS::EC2::RouteTable', 'NetworkVpcComputeSubnet');

  test('the egress is BatchEgress.PUBLIC_SUBNETS: the compute has public IPs', () => {
    expect(network.egress).toBe(BatchEgress.PUBLIC_SUBNETS);
    expect(network.publicIpEgress).toBe(true);
  });

  test('public /20 compute subnets in each zone that map a public IPv4 address on launch, and no other subnet', () => {
    expect(computeSubnets).toHaveLength(2);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    const subnets = template.findResources('AWS::EC2::Subnet');
    for (const id of computeSubnets) {
      expect(subnets[id].Properties).toMatchObject({ MapPublicIpOnLaunch: true, CidrBlock: expect.stringMatching(/\/20$/) });
      expect(subnets[id].Properties.Tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Public' });
    }
    expect(network.subnets).toEqual({ subnetGroupName: 'Compute' });
    expect(stack.resolve(network.vpc.selectSubnets(network.subnets).subnetIds)).toEqual(computeSubnets.map((id) => ({ Ref: id })));
  });

  test('nothing that costs money while idle: no NAT gateway, NAT instance, Elastic IP or interface endpoint', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Instance', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    template.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface' }, 0);
  });

  test('every compute subnet routes to the internet gateway; S3 goes through the free gateway endpoint', () => {
    template.resourceCountIs('AWS::EC2::InternetGateway', 1);
    const [igw] = idsOf(template, 'AWS::EC2::InternetGateway');
    for (const table of computeRouteTables) {
      template.hasResourceProperties('AWS::EC2::Route', { RouteTableId: { Ref: table }, DestinationCidrBlock: '0.0.0.0/0', GatewayId: { Ref: igw } });
    }
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      RouteTableIds: computeRouteTables.map((id) => ({ Ref: id })),
    });
  });

  test('the compute security group: no ingress, all egress', () => {
    const [id] = idsOf(template, 'AWS::EC2::SecurityGroup', 'NetworkSecurityGroup');
    expect(template.findResources('AWS::EC2::SecurityGroup')[id].Properties.SecurityGroupIngress).toBeUndefined();
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  test('flow logs of all traffic go to a KMS-encrypted log group (the stack\'s key)', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
    const [logGroup] = idsOf(template, 'AWS::Logs::LogGroup', 'NetworkFlowLogs');
    expect(template.findResources('AWS::Logs::LogGroup')[logGroup].Properties.KmsKeyId)
      .toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] });
  });

  test('each compute subnet records its Control Tower exemption (public IPs on launch) with the reason', () => {
    for (const id of computeSubnets) {
      const exemptions = template.findResources('AWS::EC2::Subnet')[id].Metadata['cdk-mlops:control-tower-exemptions'];
      expect(exemptions.subnet_auto_assign_public_ip_disabled_check).toMatch(/security group admits no inbound traffic/);
    }
  });

  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      new BatchNetwork(s, 'Network');
    }, { controlTower: true })).toEqual([]);
  });
});

describe('BatchNetwork with BatchEgress.NAT_GATEWAY (one NAT gateway)', () => {
  const { stack, network, template } = build({ egress: BatchEgress.NAT_GATEWAY });
  const computeSubnets = idsOf(template, 'AWS::EC2::Subnet', 'NetworkVpcPrivateSubnet');
  const publicSubnets = idsOf(template, 'AWS::EC2::Subnet', 'NetworkVpcPublicSubnet');
  const computeRouteTables = idsOf(template, 'AWS::EC2::RouteTable', 'NetworkVpcPrivateSubnet');

  test('one VPC, child id "Vpc", 10.0.0.0/16 with DNS', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16', EnableDnsHostnames: true, EnableDnsSupport: true });
    expect(network.node.findChild('Vpc')).toBe(network.vpc);
    expect(network.egress).toBe(BatchEgress.NAT_GATEWAY);
    expect(network.publicIpEgress).toBe(false);
  });

  test('private /20 compute subnets and /24 public subnets in each zone, none mapping public IPs', () => {
    // An environment-agnostic stack gets 2 zones whatever maxAzs says.
    expect(computeSubnets).toHaveLength(2);
    expect(publicSubnets).toHaveLength(2);
    const subnets = template.findResources('AWS::EC2::Subnet');
    for (const id of computeSubnets) {
      expect(subnets[id].Properties).toMatchObject({ MapPublicIpOnLaunch: false, CidrBlock: expect.stringMatching(/\/20$/) });
      expect(subnets[id].Properties.Tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Private' });
    }
    for (const id of publicSubnets) {
      expect(subnets[id].Properties).toMatchObject({ MapPublicIpOnLaunch: false, CidrBlock: expect.stringMatching(/\/24$/) });
    }
  });

  test('the network\'s subnets are the compute subnets', () => {
    expect(network.subnets).toEqual({ subnetGroupName: 'Private' });
    const selected = network.vpc.selectSubnets(network.subnets);
    expect(stack.resolve(selected.subnetIds)).toEqual(computeSubnets.map((id) => ({ Ref: id })));
    expect(selected.hasPublic).toBe(false);
  });

  test('one NAT gateway for the whole VPC, the default route of every compute subnet', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    const [nat] = idsOf(template, 'AWS::EC2::NatGateway');
    for (const table of computeRouteTables) {
      template.hasResourceProperties('AWS::EC2::Route', {
        RouteTableId: { Ref: table },
        DestinationCidrBlock: '0.0.0.0/0',
        NatGatewayId: { Ref: nat },
      });
    }
  });

  test('flow logs of all traffic go to a KMS-encrypted log group kept for a year and retained', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      ResourceId: { Ref: idsOf(template, 'AWS::EC2::VPC')[0] },
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      LogGroupName: { Ref: Match.stringLikeRegexp('^NetworkFlowLogs') },
    });
    const [logGroup] = idsOf(template, 'AWS::Logs::LogGroup', 'NetworkFlowLogs');
    expect(template.findResources('AWS::Logs::LogGroup')[logGroup]).toMatchObject({
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] } },
    });
    expect(network.flowLogGroup).toBeDefined();
  });

  test('an S3 gateway endpoint on the compute subnets\' route tables', () => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
      RouteTableIds: computeRouteTables.map((id) => ({ Ref: id })),
    });
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
  });

  test('the compute security group: no ingress, all egress', () => {
    const groups = template.findResources('AWS::EC2::SecurityGroup');
    const [id] = idsOf(template, 'AWS::EC2::SecurityGroup', 'NetworkSecurityGroup');
    expect(groups[id].Properties.SecurityGroupIngress).toBeUndefined();
    expect(groups[id].Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'Allow all outbound traffic by default', IpProtocol: '-1' },
    ]);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
    expect(network.connections.securityGroups).toEqual([network.securityGroup]);
  });

  test('the default security group is closed; its handler logs to an encrypted log group with a retention', () => {
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: { 'Fn::Join': ['', ['/aws/lambda/', { Ref: Match.stringLikeRegexp('^CustomVpcRestrictDefaultSG.*Handler') }]] },
      RetentionInDays: 365,
      KmsKeyId: Match.anyValue(),
    });
    const restrict = Object.values(template.findResources('Custom::VpcRestrictDefaultSG'))[0];
    expect(restrict.DependsOn).toContainEqual(expect.stringMatching(/^MlOpsRestrictDefaultSgLogs/));
  });

  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      new BatchNetwork(s, 'Network', { egress: BatchEgress.NAT_GATEWAY });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('BatchNetwork options', () => {
  test('maxAzs defaults to 3 in a stack with an environment', () => {
    const { template } = build({}, newStack(true));
    expect(idsOf(template, 'AWS::EC2::Subnet', 'NetworkVpcComputeSubnet')).toHaveLength(3);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
  });

  test('maxAzs, ipAddresses and flowLogRetention are applied', () => {
    const { template } = build({
      maxAzs: 1,
      ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16'),
      flowLogRetention: logs.RetentionDays.THREE_MONTHS,
    }, newStack(true));
    expect(idsOf(template, 'AWS::EC2::Subnet', 'NetworkVpcComputeSubnet')).toHaveLength(1);
    template.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.42.0.0/16' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90, KmsKeyId: Match.anyValue() });
  });

  test('two networks in one stack share the logs key and the default-SG handler and its log group', () => {
    const stack = newStack();
    new BatchNetwork(stack, 'A');
    new BatchNetwork(stack, 'B', { egress: BatchEgress.interfaceEndpoints() });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::EC2::VPC', 2);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.resourceCountIs('AWS::Lambda::Function', 1);
    expect(idsOf(template, 'AWS::Logs::LogGroup', 'MlOpsRestrictDefaultSgLogs')).toHaveLength(1);
  });
});

describe('BatchNetwork with BatchEgress.interfaceEndpoints()', () => {
  const { stack, network, template } = build({ egress: BatchEgress.interfaceEndpoints() });
  const computeSubnets = idsOf(template, 'AWS::EC2::Subnet', 'NetworkVpcPrivateSubnet');
  const interfaceEndpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }));
  const [endpointGroup] = idsOf(template, 'AWS::EC2::SecurityGroup', 'NetworkEndpointSecurityGroup');

  test.each(ENDPOINT_SERVICES)('an interface endpoint for %s, with private DNS, in the compute subnets, behind the endpoint group', (service) => {
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Interface',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, `.${service}`]] },
      PrivateDnsEnabled: true,
      SubnetIds: computeSubnets.map((id) => ({ Ref: id })),
      SecurityGroupIds: [{ 'Fn::GetAtt': [endpointGroup, 'GroupId'] }],
    });
  });

  test('exactly those seven interface endpoints, and the S3 gateway endpoint', () => {
    expect(interfaceEndpoints).toHaveLength(ENDPOINT_SERVICES.length);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      RouteTableIds: idsOf(template, 'AWS::EC2::RouteTable', 'NetworkVpcPrivateSubnet').map((id) => ({ Ref: id })),
    });
    expect(network.egress?.name).toBe('INTERFACE_ENDPOINTS');
  });

  test('the endpoint security group admits only HTTPS from the VPC CIDR and sends nothing', () => {
    const group = template.findResources('AWS::EC2::SecurityGroup')[endpointGroup];
    expect(group.Properties.SecurityGroupIngress).toEqual([
      { CidrIp: '10.0.0.0/16', Description: 'From the VPC to the interface endpoints (TCP 443)', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    expect(group.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })]);
  });

  test('no NAT, no internet gateway, no public subnet, no default route: the compute subnets are isolated', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::InternetGateway', 0);
    template.resourceCountIs('AWS::EC2::EIP', 0);
    template.resourceCountIs('AWS::EC2::Route', 0);
    expect(idsOf(template, 'AWS::EC2::Subnet')).toEqual(computeSubnets);
    expect(computeSubnets).toHaveLength(2);
    for (const subnet of Object.values(template.findResources('AWS::EC2::Subnet'))) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
      expect(subnet.Properties.Tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Isolated' });
    }
    expect(stack.resolve(network.vpc.selectSubnets(network.subnets).subnetIds)).toEqual(computeSubnets.map((id) => ({ Ref: id })));
  });

  test('flow logs are on here too', () => {
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
  });

  test('additional services get endpoints; those already included are not duplicated', () => {
    const egress = BatchEgress.interfaceEndpoints([
      ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
      ec2.InterfaceVpcEndpointAwsService.ECR,
    ]);
    expect(egress.endpointServices.map((s) => s.shortName)).toEqual([...ENDPOINT_SERVICES, 'sagemaker.api']);
    const t = build({ egress }).template;
    expect(Object.keys(t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }))).toHaveLength(8);
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.sagemaker.api']] },
      PrivateDnsEnabled: true,
    });
  });

  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      new BatchNetwork(s, 'Network', { egress: BatchEgress.interfaceEndpoints() });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('BatchNetwork with BatchEgress.NAT_INSTANCE', () => {
  const { template } = build({ egress: BatchEgress.NAT_INSTANCE });

  test('one t4g.nano NAT instance with IMDSv2 only, an encrypted root volume and a public IP; no NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourceCountIs('AWS::EC2::Instance', 1);
    template.hasResourceProperties('AWS::EC2::Instance', {
      InstanceType: 't4g.nano',
      SourceDestCheck: false,
      MetadataOptions: { HttpEndpoint: 'enabled', HttpTokens: 'required', HttpPutResponseHopLimit: 1 },
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeType: 'gp3', DeleteOnTermination: true } }],
      NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: true })],
    });
  });

  test('the compute subnets route to it; its security group admits TCP and UDP from the VPC only', () => {
    const [instance] = idsOf(template, 'AWS::EC2::Instance');
    for (const table of idsOf(template, 'AWS::EC2::RouteTable', 'NetworkVpcPrivateSubnet')) {
      template.hasResourceProperties('AWS::EC2::Route', { RouteTableId: { Ref: table }, DestinationCidrBlock: '0.0.0.0/0', InstanceId: { Ref: instance } });
    }
    const [group] = idsOf(template, 'AWS::EC2::SecurityGroup', 'NetworkVpcNatSecurityGroup');
    const ingress = template.findResources('AWS::EC2::SecurityGroup')[group].Properties.SecurityGroupIngress;
    expect(ingress.map((r: any) => [r.CidrIp, r.IpProtocol, r.FromPort, r.ToPort])).toEqual([
      ['10.0.0.0/16', 'tcp', 0, 65535],
      ['10.0.0.0/16', 'udp', 0, 65535],
    ]);
  });

  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      new BatchNetwork(s, 'Network', { egress: BatchEgress.NAT_INSTANCE });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('BatchNetwork with an imported VPC', () => {
  test('creates no VPC resources, only the compute security group, in the private subnets with egress', () => {
    const stack = newStack();
    const vpc = importedVpc(stack);
    const network = new BatchNetwork(stack, 'Network', { vpc });
    const template = Template.fromStack(stack);
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::Subnet', 'AWS::EC2::NatGateway', 'AWS::EC2::FlowLog', 'AWS::EC2::VPCEndpoint',
      'AWS::Logs::LogGroup', 'AWS::EC2::Route', 'Custom::VpcRestrictDefaultSG']) {
      template.resourceCountIs(type, 0);
    }
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: 'vpc-0123456789abcdef0' });
    expect(network.vpc).toBe(vpc);
    expect(network.subnets).toEqual({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    expect(vpc.selectSubnets(network.subnets).subnetIds).toEqual(['subnet-priv-a', 'subnet-priv-b']);
    expect(network.egress).toBeUndefined();
    expect(network.flowLogGroup).toBeUndefined();
  });

  test('fromVpc takes the chosen subnets', () => {
    const stack = newStack();
    const vpc = importedVpc(stack);
    const network = BatchNetwork.fromVpc(stack, 'Network', vpc, { subnetType: ec2.SubnetType.PRIVATE_ISOLATED });
    expect(vpc.selectSubnets(network.subnets).subnetIds).toEqual(['subnet-iso-a', 'subnet-iso-b']);
    expect(network.securityGroup).toBeDefined();
    Template.fromStack(stack).resourceCountIs('AWS::EC2::VPC', 0);
  });

  test('subnets can be chosen one by one', () => {
    const stack = newStack();
    const vpc = importedVpc(stack);
    const subnets = { subnets: [ec2.Subnet.fromSubnetId(stack, 'A', 'subnet-priv-a')] };
    const network = new BatchNetwork(stack, 'Network', { vpc, subnets });
    expect(vpc.selectSubnets(network.subnets).subnetIds).toEqual(['subnet-priv-a']);
  });

  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      new BatchNetwork(s, 'Network', { vpc: importedVpc(s) });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('BatchNetwork fails when', () => {
  test.each([0, 7, 2.5])('maxAzs is %p', (maxAzs) => {
    expect(() => build({ maxAzs })).toThrow(
      new RegExp(`BatchNetwork 'Test/Network': invalid maxAzs ${maxAzs}. Give a whole number of Availability Zones from 1 to 6`),
    );
  });

  test('egress is given with an imported vpc (it would be ignored)', () => {
    const stack = newStack();
    expect(() => new BatchNetwork(stack, 'Network', { vpc: importedVpc(stack), egress: BatchEgress.interfaceEndpoints() })).toThrow(
      /BatchNetwork 'Test\/Network': invalid egress 'INTERFACE_ENDPOINTS'. It applies only to a VPC this construct creates.*configure the egress \(NAT or endpoints\) in that VPC, or drop vpc/,
    );
  });

  test.each([
    ['maxAzs', { maxAzs: 2 }, '2'],
    ['ipAddresses', { ipAddresses: ec2.IpAddresses.cidr('10.1.0.0/16') }, "'10.1.0.0/16'"],
    ['flowLogRetention', { flowLogRetention: logs.RetentionDays.ONE_MONTH }, '30'],
  ])('%s is given with an imported vpc', (prop, props, shown) => {
    const stack = newStack();
    expect(() => new BatchNetwork(stack, 'Network', { vpc: importedVpc(stack), ...props })).toThrow(
      new RegExp(`invalid ${prop} ${shown}. It applies only to a VPC this construct creates and would be ignored with the imported vpc`),
    );
  });

  test('the imported VPC has no private subnets with egress (the default selection)', () => {
    const stack = newStack();
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Isolated', {
      vpcId: 'vpc-1', availabilityZones: ['us-east-1a'], isolatedSubnetIds: ['subnet-iso-a'],
    });
    expect(() => new BatchNetwork(stack, 'Network', { vpc })).toThrow(
      /BatchNetwork 'Test\/Network': invalid subnets '\{ subnetType: Private \}'. It selects no subnet of the VPC \(.*\): select its private subnets/,
    );
  });

  test.each([
    ['an empty subnet list', { subnets: [] }, /invalid subnets '\{ subnets: \[\] \}'. It selects no subnet of the VPC: select its private subnets/],
    ['a zone the VPC is not in', { availabilityZones: ['eu-west-1a'] }, /invalid subnets '\{ availabilityZones: \[eu-west-1a\] \}'. It selects no subnet/],
    ['an unknown subnet group', { subnetGroupName: 'Nope' }, /invalid subnets '\{ subnetGroupName: Nope \}'. It selects no subnet of the VPC \(/],
  ])('the selection selects no subnet: %s', (_name, subnets, message) => {
    const stack = newStack();
    expect(() => new BatchNetwork(stack, 'Network', { vpc: importedVpc(stack), subnets })).toThrow(message);
  });

  test('the selection selects public subnets of an imported VPC', () => {
    const stack = newStack();
    expect(() => new BatchNetwork(stack, 'Network', { vpc: importedVpc(stack), subnets: { subnetType: ec2.SubnetType.PUBLIC } })).toThrow(
      /BatchNetwork 'Test\/Network': invalid subnets '\{ subnetType: Public \}'. It selects public subnets.*Select private subnets only/,
    );
  });

  test('the selection names a public subnet by id, among private ones', () => {
    const stack = newStack();
    const vpc = importedVpc(stack);
    const subnets = { subnets: [ec2.Subnet.fromSubnetId(stack, 'A', 'subnet-priv-a'), ec2.Subnet.fromSubnetId(stack, 'B', 'subnet-pub-b')] };
    expect(() => new BatchNetwork(stack, 'Network', { vpc, subnets })).toThrow(
      /invalid subnets '\{ subnets: \[subnet-priv-a, subnet-pub-b\] \}'. It selects public subnets/,
    );
  });

  test('the selection selects the created VPC\'s public subnets', () => {
    expect(() => build({ egress: BatchEgress.NAT_GATEWAY, subnets: { subnetType: ec2.SubnetType.PUBLIC } }))
      .toThrow(/invalid subnets '\{ subnetType: Public \}'. It selects public subnets/);
  });

  test('with BatchEgress.PUBLIC_SUBNETS, the selection is not among the compute subnets', () => {
    expect(() => build({ subnets: { subnetGroupName: 'Private' } })).toThrow(/invalid subnets '\{ subnetGroupName: Private \}'/);
  });

  test('the selection asks for subnets with egress in a VPC created without an internet route', () => {
    expect(() => build({ egress: BatchEgress.interfaceEndpoints(), subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } })).toThrow(
      /invalid subnets '\{ subnetType: Private \}'. It selects no subnet of the VPC/,
    );
  });
});
