/**
 * cdk-nag findings that several constructs of this library acknowledge for the same reason. Each entry is one
 * finding id with the reason a reviewer can check; the caller applies them to the construct that owns the resource.
 */

const COMPLIANCE_PACKS = ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'] as const;

function inCompliancePacks(rule: string, reason: string, extraPacks: string[] = []): Record<string, string> {
  const findings: Record<string, string> = {};
  for (const pack of [...COMPLIANCE_PACKS, ...extraPacks]) findings[`${pack}-${rule}`] = reason;
  return findings;
}

/** On a role's `DefaultPolicy`: the statements CDK grants collect there. */
export const INLINE_ROLE_POLICY = inCompliancePacks(
  'IAMNoInlinePolicy',
  'The policy holds the least-privilege statements of grant*() calls for this one role; it is created, changed ' +
    'and deleted with the role and attached to nothing else.',
);

export const LAMBDA_OUTSIDE_VPC_REASON =
  'Calls only AWS service APIs over TLS and reaches no private resource; pass `vpc` to place it in a VPC.';

/** On a Lambda function that only calls AWS service APIs. */
export const LAMBDA_OUTSIDE_VPC = inCompliancePacks('LambdaInsideVPC', LAMBDA_OUTSIDE_VPC_REASON);

/** The `Resource::*` of a traced function's role policy. */
export const LAMBDA_TRACING_REASON =
  'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) have no resource-level permissions: IAM accepts only "*".';

/** On every Lambda function of this library: none reserves concurrency. */
export const LAMBDA_CONCURRENCY = inCompliancePacks(
  'LambdaConcurrency',
  'Reserved concurrency is taken from the account pool (10 in all on new accounts) and would break deployments ' +
    'there; calls are rare and bounded by the caller.',
);

/** On a Lambda function invoked synchronously (Step Functions, CodePipeline, a person). */
export const LAMBDA_SYNCHRONOUS = {
  ...inCompliancePacks(
    'LambdaDLQ',
    'Invoked synchronously: the caller receives the error; a dead-letter queue only receives failed asynchronous events.',
    ['Serverless'],
  ),
  ...LAMBDA_CONCURRENCY,
};

/** On a Lambda function with the default execution role. */
export const LAMBDA_BASIC_EXECUTION_ROLE = {
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
    'AWS managed policy that allows only logs:CreateLogStream and logs:PutLogEvents, for the function\'s logs.',
};

// Policy document: AWS Managed Policy Reference, AWSLambdaVPCAccessExecutionRole,
// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html
/** The managed policy CDK attaches to the role of a function placed in a VPC. */
export const LAMBDA_VPC_ACCESS_EXECUTION_ROLE = {
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]':
    'AWS managed policy with the log writes of the basic role and only the ec2 actions Lambda needs to attach the ' +
    'function to its subnets (network interfaces: create, describe, delete, assign/unassign private IPs; DescribeSubnets).',
};
