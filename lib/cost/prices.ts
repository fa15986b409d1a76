/**
 * The list prices the cost estimate uses, shipped with the library: dated, per region, each naming the AWS page it
 * comes from. A price marked `unverified` could not be read on an AWS page when the table was written (AWS renders
 * most rates on its pricing pages at view time); check it on the named page before relying on it.
 */

/** One list price, in US dollars, per region. */
export interface PriceEntry {
  /** What is charged. */
  readonly description: string;
  /** The unit the price is per: `hour`, `month`, `GB`, `GB-month`, `minute`, `request`, `GB-second`, `transition`. */
  readonly unit: string;
  /** The price per unit, by region code. A region that is missing is unknown, never free. */
  readonly usd: { [region: string]: number };
  /** The AWS page the price comes from. */
  readonly source: string;
  /**
   * True when the figure could not be confirmed on an AWS page when the table was written.
   * @default false
   */
  readonly unverified?: boolean;
  /**
   * What else the page says that the estimate relies on.
   * @default - nothing
   */
  readonly note?: string;
}

/** A figure that is not a price but an assumption the estimate states, such as a spot discount. */
export interface CostAssumption {
  /** The value, for example 0.7 for a 70% discount. */
  readonly value: number;
  /** The assumption in words, printed with every estimate that uses it. */
  readonly statement: string;
  /** Where the range comes from. */
  readonly source: string;
}

/** The table of prices and assumptions an estimate uses. */
export interface PriceTable {
  /** The month the prices were taken, `YYYY-MM`. */
  readonly asOf: string;
  /** Prices by key: `service:item`, for example `ec2:g5.xlarge` or `kms:key`. */
  readonly prices: { [key: string]: PriceEntry };
  /** Assumptions by key, for example `ec2:spot-discount`. */
  readonly assumptions: { [key: string]: CostAssumption };
}

const VPC = 'https://aws.amazon.com/vpc/pricing/';
const PRIVATELINK = 'https://aws.amazon.com/privatelink/pricing/';
const KMS = 'https://aws.amazon.com/kms/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const EC2 = 'https://aws.amazon.com/ec2/pricing/on-demand/';
const SPOT = 'https://aws.amazon.com/ec2/spot/pricing/';
const FARGATE = 'https://aws.amazon.com/fargate/pricing/';
const SAGEMAKER = 'https://aws.amazon.com/sagemaker/pricing/';
const CODEBUILD = 'https://aws.amazon.com/codebuild/pricing/';
const CODEPIPELINE = 'https://aws.amazon.com/codepipeline/pricing/';
const STEP_FUNCTIONS = 'https://aws.amazon.com/step-functions/pricing/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const ECR = 'https://aws.amazon.com/ecr/pricing/';
const SQS = 'https://aws.amazon.com/sqs/pricing/';
const SNS = 'https://aws.amazon.com/sns/pricing/';
const SECRETS = 'https://aws.amazon.com/secrets-manager/pricing/';
// AWS's Price List offer file of AWS Budgets (read in a public copy of the Price List API data).
const BUDGETS = 'https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AWSBudgets/current/index.csv';
const LAMBDA_WHITEPAPER = 'https://docs.aws.amazon.com/whitepapers/latest/how-aws-pricing-works/lambda.html';
const EVENTBRIDGE = 'https://aws.amazon.com/eventbridge/pricing/';

function entry(description: string, unit: string, usd: { [region: string]: number }, source: string,
  extra: { unverified?: boolean; note?: string } = {}): PriceEntry {
  return { description, unit, usd, source, ...extra };
}

const unverified = { unverified: true };

// Linux on-demand hourly prices of the instance types this library uses (us-east-1, eu-west-1 where known).
const EC2_HOURLY: { [type: string]: { [region: string]: number } } = {
  't4g.nano': { 'us-east-1': 0.0042, 'eu-west-1': 0.0046 },
  't3.nano': { 'us-east-1': 0.0052, 'eu-west-1': 0.0057 },
  'g4dn.xlarge': { 'us-east-1': 0.526, 'eu-west-1': 0.587 },
  'g4dn.2xlarge': { 'us-east-1': 0.752, 'eu-west-1': 0.838 },
  'g4dn.4xlarge': { 'us-east-1': 1.204, 'eu-west-1': 1.342 },
  'g4dn.8xlarge': { 'us-east-1': 2.176 },
  'g4dn.12xlarge': { 'us-east-1': 3.912, 'eu-west-1': 4.362 },
  'g5.xlarge': { 'us-east-1': 1.006, 'eu-west-1': 1.123 },
  'g5.2xlarge': { 'us-east-1': 1.212, 'eu-west-1': 1.353 },
  'g5.4xlarge': { 'us-east-1': 1.624, 'eu-west-1': 1.813 },
  'g5.8xlarge': { 'us-east-1': 2.448 },
  'g5.12xlarge': { 'us-east-1': 5.672, 'eu-west-1': 6.332 },
  'g6.xlarge': { 'us-east-1': 0.8048 },
  'g6.2xlarge': { 'us-east-1': 0.9776 },
  'g6.4xlarge': { 'us-east-1': 1.3232 },
  'g6.8xlarge': { 'us-east-1': 2.0144 },
  'g6.12xlarge': { 'us-east-1': 4.6016 },
  'g6e.xlarge': { 'us-east-1': 1.861 },
  'g6e.2xlarge': { 'us-east-1': 2.24208 },
  'c6i.large': { 'us-east-1': 0.085, 'eu-west-1': 0.096 },
  'c6i.xlarge': { 'us-east-1': 0.17, 'eu-west-1': 0.192 },
  'c6i.2xlarge': { 'us-east-1': 0.34, 'eu-west-1': 0.384 },
  'c6i.4xlarge': { 'us-east-1': 0.68, 'eu-west-1': 0.768 },
  'm6i.large': { 'us-east-1': 0.096, 'eu-west-1': 0.107 },
  'm6i.xlarge': { 'us-east-1': 0.192, 'eu-west-1': 0.214 },
  'm6i.2xlarge': { 'us-east-1': 0.384, 'eu-west-1': 0.428 },
  'm6i.4xlarge': { 'us-east-1': 0.768, 'eu-west-1': 0.856 },
  'r6i.xlarge': { 'us-east-1': 0.252 },
  'r6i.2xlarge': { 'us-east-1': 0.504 },
  'c7i.large': { 'us-east-1': 0.08925 },
  'c7i.xlarge': { 'us-east-1': 0.1785 },
  'c7i.2xlarge': { 'us-east-1': 0.357 },
};

// SageMaker real-time inference, per instance-hour (us-east-1 only: other regions are unknown here).
const SAGEMAKER_HOURLY: { [type: string]: { [region: string]: number } } = {
  'ml.t2.medium': { 'us-east-1': 0.056 },
  'ml.m5.large': { 'us-east-1': 0.115 },
  'ml.m5.xlarge': { 'us-east-1': 0.23 },
  'ml.c6i.large': { 'us-east-1': 0.102 },
  'ml.c6i.xlarge': { 'us-east-1': 0.204 },
  'ml.c6i.2xlarge': { 'us-east-1': 0.408 },
  'ml.g4dn.xlarge': { 'us-east-1': 0.736 },
  'ml.g5.xlarge': { 'us-east-1': 1.408 },
  'ml.g5.2xlarge': { 'us-east-1': 1.515 },
};

const prices: { [key: string]: PriceEntry } = {
  'vpc:nat-gateway-hour': entry('NAT gateway, per hour provisioned', 'hour', { 'us-east-1': 0.045, 'eu-west-1': 0.048 }, VPC, {
    unverified: true,
    note: 'Billed per NAT gateway-hour, each partial hour as a full hour, plus a charge per GB processed.',
  }),
  'vpc:nat-gateway-gb': entry('NAT gateway, per GB processed', 'GB', { 'us-east-1': 0.045, 'eu-west-1': 0.048 }, VPC, unverified),
  'vpc:public-ipv4-hour': entry('Public IPv4 address (Elastic IP or auto-assigned), per hour', 'hour',
    { 'us-east-1': 0.005, 'eu-west-1': 0.005 }, VPC, { unverified: true, note: 'Charged per hour while the address is allocated or attached, in use or idle (since 2024-02-01): an instance\'s or task\'s auto-assigned address only while it runs.' }),
  'privatelink:interface-endpoint-hour': entry('Interface VPC endpoint, per hour per Availability Zone', 'hour',
    { 'us-east-1': 0.01, 'eu-west-1': 0.011 }, PRIVATELINK, {
      unverified: true,
      note: 'The page bills each hour an endpoint is provisioned in each Availability Zone, plus data processed (first 1 PB $0.01/GB); the hourly figure is unverified.',
    }),
  'kms:key': entry('AWS KMS key (customer managed), per month', 'month', { 'us-east-1': 1, 'eu-west-1': 1 }, KMS, {
    note: 'With automatic rotation on, each newly generated backing key costs an additional $1/month.',
  }),
  'kms:rotation': entry('AWS KMS automatic rotation, per newly generated backing key per month', 'month',
    { 'us-east-1': 1, 'eu-west-1': 1 }, KMS, {
      note: 'That only the first and second rotations are charged (so at most $2/month more per key) is from AWS\'s 2024 price change as reported by third parties: unverified.',
    }),
  'cloudwatch:alarm-standard': entry('CloudWatch alarm, per standard-resolution alarm metric per month', 'month',
    { 'us-east-1': 0.1, 'eu-west-1': 0.1 }, CLOUDWATCH, unverified),
  'cloudwatch:alarm-high-resolution': entry('CloudWatch alarm, per high-resolution alarm metric per month', 'month',
    { 'us-east-1': 0.3, 'eu-west-1': 0.3 }, CLOUDWATCH, unverified),
  'cloudwatch:composite-alarm': entry('CloudWatch composite alarm, per month', 'month', { 'us-east-1': 0.5, 'eu-west-1': 0.5 }, CLOUDWATCH, unverified),
  'cloudwatch:dashboard': entry('CloudWatch dashboard, per dashboard per month', 'month', { 'us-east-1': 3, 'eu-west-1': 3 }, CLOUDWATCH, {
    note: 'The free tier covers 3 dashboards (up to 50 metrics each) per account a month: free when the account has no more.',
  }),
  'cloudwatch:custom-metric': entry('CloudWatch custom metric, per metric per month (first 10,000)', 'month',
    { 'us-east-1': 0.3, 'eu-west-1': 0.3 }, CLOUDWATCH, {
      unverified: true,
      note: 'Prorated by the hour and charged only for hours a metric receives data (as the pricing page was read, not confirmed here): ' +
        'a monitor publishes nothing without traffic.',
    }),
  'logs:ingestion-gb': entry('CloudWatch Logs standard ingestion, per GB', 'GB', { 'us-east-1': 0.5, 'eu-west-1': 0.57 }, CLOUDWATCH, unverified),
  'logs:storage-gb-month': entry('CloudWatch Logs storage, per GB-month', 'GB-month', { 'us-east-1': 0.03, 'eu-west-1': 0.03 }, CLOUDWATCH, unverified),
  'fargate:vcpu-hour': entry('Fargate Linux/x86, per vCPU-hour', 'hour', { 'us-east-1': 0.04048, 'eu-west-1': 0.04048 }, FARGATE, unverified),
  'fargate:gb-hour': entry('Fargate Linux/x86, per GB of memory-hour', 'hour', { 'us-east-1': 0.004445, 'eu-west-1': 0.004445 }, FARGATE, unverified),
  'sagemaker:serverless-gb-second': entry('SageMaker Serverless Inference, per GB-second of compute', 'GB-second',
    { 'us-east-1': 0.00002 }, SAGEMAKER, { unverified: true, note: 'No charge while no request is served (without provisioned concurrency).' }),
  'codebuild:BUILD_GENERAL1_SMALL': entry('CodeBuild Linux general1.small, per build-minute', 'minute', { 'us-east-1': 0.005 }, CODEBUILD, unverified),
  'codebuild:BUILD_GENERAL1_MEDIUM': entry('CodeBuild Linux general1.medium, per build-minute', 'minute', { 'us-east-1': 0.01 }, CODEBUILD, unverified),
  'codebuild:BUILD_GENERAL1_LARGE': entry('CodeBuild Linux general1.large, per build-minute', 'minute', { 'us-east-1': 0.02 }, CODEBUILD, unverified),
  'codepipeline:v2-action-minute': entry('CodePipeline V2, per action execution minute', 'minute',
    { 'us-east-1': 0.002, 'eu-west-1': 0.002 }, CODEPIPELINE, {
      note: 'Rounded up to the minute; manual approval and custom actions are not charged; 100 free action minutes a month per account. The page names one price for all regions.',
    }),
  'codepipeline:v1-active-pipeline-month': entry('CodePipeline V1, per active pipeline per month', 'month',
    { 'us-east-1': 1, 'eu-west-1': 1 }, CODEPIPELINE, { note: 'Only pipelines older than 30 days with a code change that month.' }),
  'stepfunctions:standard-transition': entry('Step Functions Standard, per state transition', 'transition',
    { 'us-east-1': 0.000025, 'eu-west-1': 0.000025 }, STEP_FUNCTIONS, {
      note: '$0.025 per 1,000 state transitions in both regions; retries count as transitions; 4,000 free a month.',
    }),
  'lambda:request': entry('Lambda, per request', 'request', { 'us-east-1': 0.0000002 }, LAMBDA_WHITEPAPER, {
    note: '$0.20 per million requests after 1 million free a month. The whitepaper names no region; us-east-1 assumed.',
  }),
  'lambda:gb-second-x86': entry('Lambda x86, per GB-second', 'GB-second', { 'us-east-1': 0.0000166667 }, LAMBDA_WHITEPAPER, {
    note: 'The whitepaper rounds it to $0.00001667; 400,000 GB-seconds free a month.',
  }),
  's3:standard-gb-month': entry('S3 Standard storage, per GB-month (first 50 TB)', 'GB-month', { 'us-east-1': 0.023, 'eu-west-1': 0.023 }, S3, unverified),
  'ecr:storage-gb-month': entry('ECR private repository storage, per GB-month', 'GB-month', { 'us-east-1': 0.1, 'eu-west-1': 0.1 }, ECR, unverified),
  'sqs:standard-request': entry('SQS standard queue, per request (after the first million a month)', 'request',
    { 'us-east-1': 0.0000004, 'eu-west-1': 0.0000004 }, SQS, unverified),
  'sns:publish': entry('SNS standard topic, per publish (after the first million a month)', 'request',
    { 'us-east-1': 0.0000005, 'eu-west-1': 0.0000005 }, SNS, unverified),
  'secretsmanager:secret-month': entry('Secrets Manager, per secret per month', 'month', { 'us-east-1': 0.4, 'eu-west-1': 0.4 }, SECRETS, unverified),
  'budgets:action-enabled-budget-day': entry('AWS Budgets, per action-enabled budget-day', 'day',
    { 'us-east-1': 0.1, 'eu-west-1': 0.1 }, BUDGETS, {
      note: 'The offer file prices budget-days without actions at $0.00, and the first 62 action-enabled budget-days ' +
        'of a month (two budgets) at $0.00. An older user guide page said the first two budgets are free and each ' +
        'other costs $0.02 a day: the offer file (effective 2020-10-01) is newer. Budgets are global.',
    }),
  'events:rule': entry('EventBridge rule on the default event bus (AWS service events)', 'month', { 'us-east-1': 0, 'eu-west-1': 0 }, EVENTBRIDGE, {
    unverified: true,
    note: 'Events published by AWS services to the default bus are free; rules themselves have no charge.',
  }),
};
for (const [type, usd] of Object.entries(EC2_HOURLY)) {
  prices[`ec2:${type}`] = entry(`EC2 ${type} Linux on-demand, per hour`, 'hour', usd, EC2, unverified);
}
for (const [type, usd] of Object.entries(SAGEMAKER_HOURLY)) {
  prices[`sagemaker:${type}`] = entry(`SageMaker real-time inference ${type}, per instance-hour`, 'hour', usd, SAGEMAKER, unverified);
}

const SHIPPED: PriceTable = {
  asOf: '2026-12',
  prices,
  assumptions: {
    'ec2:spot-discount': {
      value: 0.7,
      statement: 'EC2 spot instances cost 30% of on-demand (a 70% discount): an assumption, not a price; AWS quotes "up to 90%" and spot prices move with supply and demand',
      source: SPOT,
    },
    'fargate:spot-discount': {
      value: 0.7,
      statement: 'Fargate Spot costs 30% of Fargate on-demand (a 70% discount): an assumption; AWS quotes "up to 70%"',
      source: FARGATE,
    },
  },
};

/** The price tables this library ships. */
export class PriceTables {
  /**
   * The table shipped with this version of the library, dated by its `asOf`. To add or correct prices, spread it:
   * `{ ...PriceTables.SHIPPED, prices: { ...PriceTables.SHIPPED.prices, 'ec2:x8z.large': entry } }`.
   */
  public static readonly SHIPPED: PriceTable = SHIPPED;

  private constructor() {}
}
