/**
 * IAM actions that accept no resource but "*" (the Service Authorization Reference lists no resource type for them),
 * or that the integration's own documentation grants on "*". A policy's `Resource::*` finding is acknowledged only
 * when every action it allows on "*" is one of these: an action that could be scoped but is not stays a finding.
 */
const ACTIONS_WITHOUT_RESOURCES: readonly string[] = [
  // CloudWatch Logs delivery of Step Functions / API logs (Step Functions guide, "IAM policies for logging").
  'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
  // X-Ray tracing.
  'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
  // The registry login before a pull or push.
  'ecr:GetAuthorizationToken',
  // Listing model packages (no resource type in the Service Authorization Reference).
  'sagemaker:ListModelPackages',
  // Batch: describe calls, and the .sync integration's DescribeJobs / TerminateJob on jobs whose ids exist only at
  // run time (Step Functions guide, "IAM policies for AWS Batch", grants them on "*").
  'batch:DescribeJobs', 'batch:DescribeJobDefinitions', 'batch:DescribeJobQueues', 'batch:DescribeComputeEnvironments',
  'batch:TerminateJob',
  // The CodePipeline Lambda invoke action: aws-cdk-lib lets its role list functions; and the job results.
  'lambda:ListFunctions',
  'codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult',
  // CloudWatch metric data and Application Auto Scaling (scalable targets have generated ids).
  'cloudwatch:PutMetricData', 'cloudwatch:GetMetricData', 'cloudwatch:ListMetrics',
  'application-autoscaling:RegisterScalableTarget', 'application-autoscaling:DeregisterScalableTarget',
  'application-autoscaling:PutScalingPolicy', 'application-autoscaling:DescribeScalableTargets',
  'application-autoscaling:DescribeScalingPolicies', 'application-autoscaling:DescribeScalingActivities',
  // Elastic network interfaces of functions in a VPC (EC2 describe calls have no resource type).
  'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs',
];

/** Whether an allowed action on "*" is one that cannot be scoped. */
export function acceptsOnlyWildcardResource(action: string): boolean {
  return ACTIONS_WITHOUT_RESOURCES.includes(action);
}
