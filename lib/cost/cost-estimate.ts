import * as fs from 'fs';
import * as path from 'path';
import { Stack, Stage, Token } from 'aws-cdk-lib';
import { PriceTable, PriceTables } from './prices';
import { idleCosts } from './private/idle-costs';
import { HOURS_PER_MONTH } from './private/price-lookup';
import { runCosts, worstCaseCosts } from './private/run-costs';

/** One resource that costs money while nothing runs. */
export interface CostItem {
  /** The resource's logical id in the template (or the name given in the options). */
  readonly logicalId: string;
  /** The CloudFormation resource type. */
  readonly resourceType: string;
  /** What is charged. */
  readonly description: string;
  /** How many units are charged (gateways, addresses, Availability Zones, instances, alarm metrics...). */
  readonly quantity: number;
  /** The unit the price is per. */
  readonly unit: string;
  /** The price per unit and unit of time, in US dollars. */
  readonly unitPriceUsd: number;
  /** What the resource costs in a month, in US dollars. */
  readonly monthlyUsd: number;
  /** The AWS pricing page. */
  readonly source: string;
  /** True when the price could not be confirmed on the AWS page when the table was written. */
  readonly unverified: boolean;
  /**
   * What the resource will cost a month later in its life (a KMS key after its rotations), when more than today.
   * @default - the same as monthlyUsd
   */
  readonly laterMonthlyUsd?: number;
  /**
   * More about the charge.
   * @default - nothing
   */
  readonly note?: string;
}

/** A resource the estimate cannot price. It is reported, never counted as free. */
export interface UnknownCost {
  readonly logicalId: string;
  readonly resourceType: string;
  readonly reason: string;
}

/** A resource that costs nothing while idle (it may cost per use). */
export interface FreeWhileIdle {
  readonly logicalId: string;
  readonly resourceType: string;
  readonly reason: string;
}

/** One line of the per-run estimate. */
export interface RunCostItem {
  readonly name: string;
  readonly description: string;
  readonly quantity: number;
  readonly unit: string;
  readonly unitPriceUsd: number;
  readonly usd: number;
  readonly source: string;
  readonly unverified: boolean;
  /**
   * The assumption the line relies on (a spot discount).
   * @default - none
   */
  readonly assumption?: string;
}

/** The most one AWS Batch job definition can cost in one run: attempts x attempt timeout x on-demand price. */
export interface WorstCaseItem {
  /** The job definition's logical id. */
  readonly logicalId: string;
  readonly description: string;
  readonly attempts: number;
  /**
   * Hours per attempt (the job definition's attempt timeout).
   * @default - no timeout: the cost has no bound
   */
  readonly attemptHours?: number;
  /** Parallel copies (array size) of the job. */
  readonly copies: number;
  /**
   * The instance type priced (EC2 jobs).
   * @default - a Fargate job, priced per vCPU and GB
   */
  readonly instanceType?: string;
  /**
   * The price per hour of one copy, in US dollars.
   * @default - unknown
   */
  readonly hourlyUsd?: number;
  /**
   * The worst case, in US dollars.
   * @default - unbounded or unknown (see note)
   */
  readonly usd?: number;
  readonly source: string;
  readonly note: string;
}

/** A training candidate of one run: where it runs and for how long. */
export interface TrainingRunOptions {
  /** The candidate's name. */
  readonly name: string;
  /** The EC2 instance type it runs on, for example `g5.xlarge`. */
  readonly instanceType: string;
  /** Expected hours of one run. */
  readonly hours: number;
  /**
   * Whether it runs on spot capacity.
   * @default true
   */
  readonly spot?: boolean;
  /**
   * Instances it runs on at once.
   * @default 1
   */
  readonly instances?: number;
}

/** Fargate work of one run (for example the evaluation shards). */
export interface FargateRunOptions {
  readonly name: string;
  readonly vcpus: number;
  readonly memoryGiB: number;
  /** Expected hours of each task. */
  readonly hours: number;
  /**
   * Tasks (shards) of one run.
   * @default 1
   */
  readonly tasks?: number;
  /**
   * Whether it runs on Fargate Spot.
   * @default true
   */
  readonly spot?: boolean;
}

/** CodeBuild minutes of one run. */
export interface BuildRunOptions {
  /** A name for the line, or the logical id (or its prefix) of the CodeBuild project in the template. */
  readonly project: string;
  /** Build minutes of one run. */
  readonly minutes: number;
  /**
   * The compute type, for example `BUILD_GENERAL1_SMALL`.
   * @default - the compute type of the project of that logical id (or prefix) in the template
   */
  readonly computeType?: string;
}

/** What one run of the pipeline does, as the user expects it. */
export interface RunOptions {
  /** @default - no training line */
  readonly training?: TrainingRunOptions[];
  /** @default - no Fargate line */
  readonly evaluation?: FargateRunOptions[];
  /** @default - no build line */
  readonly builds?: BuildRunOptions[];
  /**
   * Step Functions standard state transitions of one run (all state machines, retries included).
   * @default 0
   */
  readonly stateTransitions?: number;
  /**
   * CodePipeline V2 action minutes of one run (manual approvals excluded).
   * @default 0
   */
  readonly pipelineActionMinutes?: number;
}

/** A SageMaker endpoint the template does not create, but that will run (created by a pipeline later). */
export interface ExpectedEndpointInstances {
  readonly name: string;
  /** The SageMaker instance type, for example `ml.c6i.large`. */
  readonly instanceType: string;
  readonly count: number;
}

export interface CostEstimateOptions {
  /**
   * The region whose prices apply.
   * @default - the stack's region when it is concrete, else us-east-1 (stated as an assumption)
   */
  readonly region?: string;
  /**
   * The price table.
   * @default PriceTables.SHIPPED, the table shipped with the library
   */
  readonly prices?: PriceTable;
  /**
   * Endpoints that will run without being in the template.
   * @default - none
   */
  readonly expectedEndpointInstances?: ExpectedEndpointInstances[];
  /**
   * What one run does, for the per-run estimate.
   * @default - no per-run estimate (the worst case is still given)
   */
  readonly run?: RunOptions;
  /**
   * Copies of a Batch job definition that one run submits at once (its array size, or the candidates that share it),
   * for the worst case; by logical id, or by the logical id without its 8-character hash (`Train` for `TrainABD8C7C9`).
   * @default - the shard count a cdk-mlops evaluation job definition records, else 1
   */
  readonly jobCopies?: { [logicalId: string]: number };
}

/** What a template costs: idle, serving, per run and at worst per run. */
export interface CostEstimate {
  readonly region: string;
  /** The date of the price table. */
  readonly asOf: string;
  readonly hoursPerMonth: number;
  /** Resources that cost money while nothing runs, serving instances excluded. */
  readonly idle: CostItem[];
  readonly idleMonthlyUsd: number;
  /** The idle total once every rotated KMS key has been rotated the times that are charged. */
  readonly idleMonthlyLaterUsd: number;
  /** SageMaker instances that serve requests (from the template and the options). */
  readonly serving: CostItem[];
  readonly servingMonthlyUsd: number;
  /** Resources the table cannot price: not counted in any total. */
  readonly unknown: UnknownCost[];
  /** Resources that cost nothing while idle. */
  readonly freeWhileIdle: FreeWhileIdle[];
  /** The per-run lines (empty without run options). */
  readonly run: RunCostItem[];
  readonly runUsd: number;
  /** The worst case of one run, per Batch job definition. */
  readonly worstCase: WorstCaseItem[];
  /** The sum of the bounded worst cases. */
  readonly worstCaseUsd: number;
  /** True when some job's worst case has no bound (no attempt timeout) or cannot be priced. */
  readonly worstCaseIncomplete: boolean;
  /** The assumptions the figures rely on. */
  readonly assumptions: string[];
  /** The price keys used whose figures are unverified. */
  readonly unverifiedPrices: string[];
}

/** Estimates what a synthesized CloudFormation template costs, from the price table shipped with the library. */
export class CostEstimator {
  /** Estimates a synthesized template (its JSON, as an object). A pure function: no AWS call, no file. */
  public static fromTemplate(template: any, options: CostEstimateOptions = {}): CostEstimate {
    const table = options.prices ?? PriceTables.SHIPPED;
    const assumptions: string[] = [];
    const region = options.region ?? 'us-east-1';
    if (!options.region) assumptions.push('Region us-east-1: the template names no region (pass region to change it)');
    assumptions.push(`A month has ${HOURS_PER_MONTH} hours (as the AWS Pricing Calculator counts)`);
    assumptions.push('List prices: free tiers (4,000 Step Functions transitions, 100 CodePipeline V2 action minutes, ...), ' +
      'savings plans and taxes are not deducted');
    assumptions.push('Per-use charges (storage, requests, log ingestion, NAT and endpoint GB processed, data transfer) are ' +
      'not in the idle total');
    const used = new Set<string>();
    const ctx = { table, region, used, assumptions };

    const idle = idleCosts(template, ctx, options);
    const run = options.run ? runCosts(template, ctx, options.run) : { items: [], unknown: [] };
    const worst = worstCaseCosts(template, ctx, options.jobCopies ?? {});
    const sum = (values: number[]) => round(values.reduce((a, b) => a + b, 0));
    const unverifiedPrices = [...used].filter((key) => table.prices[key]?.unverified).sort();

    return {
      region,
      asOf: table.asOf,
      hoursPerMonth: HOURS_PER_MONTH,
      idle: idle.idle,
      idleMonthlyUsd: sum(idle.idle.map((i) => i.monthlyUsd)),
      idleMonthlyLaterUsd: sum(idle.idle.map((i) => i.laterMonthlyUsd ?? i.monthlyUsd)),
      serving: idle.serving,
      servingMonthlyUsd: sum(idle.serving.map((i) => i.monthlyUsd)),
      unknown: [...idle.unknown, ...run.unknown],
      freeWhileIdle: idle.free,
      run: run.items,
      runUsd: sum(run.items.map((i) => i.usd)),
      worstCase: worst,
      worstCaseUsd: sum(worst.map((w) => w.usd ?? 0)),
      worstCaseIncomplete: worst.some((w) => w.usd === undefined),
      assumptions: [...new Set(assumptions)],
      unverifiedPrices,
    };
  }

  /**
   * Synthesizes the stack's app (aspects and all, as `cdk synth` does) and estimates the stack's template. The app's
   * validation plugins run too: a finding that fails the synth fails this call.
   */
  public static fromStack(stack: Stack, options: CostEstimateOptions = {}): CostEstimate {
    const region = options.region ?? (Token.isUnresolved(stack.region) ? undefined : stack.region);
    const stage = Stage.of(stack);
    if (!stage) throw new Error(`CostEstimator.fromStack: stack '${stack.node.path}' is not in an App or Stage`);
    const template = stage.synth().getStackArtifact(stack.artifactId).template;
    return CostEstimator.fromTemplate(template, { ...options, region });
  }

  /** Estimates a template of a cloud assembly directory (for example `cdk.out`), by file name or stack name. */
  public static fromAssembly(directory: string, stackName: string, options: CostEstimateOptions = {}): CostEstimate {
    const file = stackName.endsWith('.json') ? stackName : `${stackName}.template.json`;
    const template = JSON.parse(fs.readFileSync(path.join(directory, file), 'utf-8'));
    return CostEstimator.fromTemplate(template, options);
  }

  private constructor() {}
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
