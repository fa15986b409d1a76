import { NagReason, REASONS } from './nag-reasons';

/**
 * cdk-nag findings that several constructs of this library acknowledge for the same reason: finding ids with their
 * reason from the catalogue (nag-reasons.ts); the caller applies them to the construct that owns the resource.
 */

const COMPLIANCE_PACKS = ['HIPAA.Security', 'NIST.800.53.R5', 'PCI.DSS.321'] as const;

/** One rule of the HIPAA, NIST 800-53 R5 and PCI DSS 3.2.1 packs (and any `extraPacks`), for one reason. */
export function inCompliancePacks(rule: string, reason: NagReason, extraPacks: string[] = []): Record<string, NagReason> {
  const findings: Record<string, NagReason> = {};
  for (const pack of [...COMPLIANCE_PACKS, ...extraPacks]) findings[`${pack}-${rule}`] = reason;
  return findings;
}

/** On a role's `DefaultPolicy`: the statements CDK grants collect there. */
export const INLINE_ROLE_POLICY = inCompliancePacks('IAMNoInlinePolicy', REASONS.iam.inlineRolePolicy);

/** On a Lambda function that only calls AWS service APIs. */
export const LAMBDA_OUTSIDE_VPC = inCompliancePacks('LambdaInsideVPC', REASONS.lambda.outsideVpc);

/** On every Lambda function of this library: none reserves concurrency. */
export const LAMBDA_CONCURRENCY = inCompliancePacks('LambdaConcurrency', REASONS.lambda.noReservedConcurrency);

/** On a Lambda function invoked synchronously (Step Functions, CodePipeline, a person). */
export const LAMBDA_SYNCHRONOUS = {
  ...inCompliancePacks('LambdaDLQ', REASONS.lambda.synchronousNoDeadLetterQueue, ['Serverless']),
  ...LAMBDA_CONCURRENCY,
};

/** On a Lambda function with the default execution role. */
export const LAMBDA_BASIC_EXECUTION_ROLE = {
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
    REASONS.lambda.basicExecutionRole,
};

/** The managed policy CDK attaches to the role of a function placed in a VPC. */
export const LAMBDA_VPC_ACCESS_EXECUTION_ROLE = {
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]':
    REASONS.lambda.vpcAccessExecutionRole,
};

/** On a CodeBuild project whose source is the pipeline's artifact (the HIPAA and PCI packs check its repository URL). */
export const CODEBUILD_SOURCE_IS_THE_PIPELINE = {
  'HIPAA.Security-CodeBuildProjectSourceRepoUrl': REASONS.codebuild.sourceIsThePipeline,
  'PCI.DSS.321-CodeBuildProjectSourceRepoUrl': REASONS.codebuild.sourceIsThePipeline,
};
