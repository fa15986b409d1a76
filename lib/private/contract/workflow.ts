/**
 * The data the training workflow's states pass between them, defined once for the state machine (lib/workflow), the
 * serving image build (which reads the lineage keys) and the handlers (lambda/). CDK-free: lambda/ imports it and
 * esbuild bundles it. The public jsii structs of the gate rules (lib/workflow/quality-gate-rules.ts) render into
 * `GateRules`, so the compiler catches a drift between the two.
 */

/** The `metrics.json` a training job writes, and each `metrics-<index>.json` an evaluation shard writes. */
export interface MetricsFile {
  /** Metric name -> value, for example `{ "auc": 0.91, "logloss": 0.23 }`. */
  readonly metrics: Record<string, number>;
  /** Slice name -> metrics on that slice, for fairness rules: `{ "region=eu": { "auc": 0.9 } }`. */
  readonly slices?: Record<string, Record<string, number>>;
  /** Inference latency measured by the evaluation, in milliseconds. */
  readonly latencyMs?: LatencyPercentiles;
  /** How many examples the shard scored; weights the shard in the aggregate (default 1). */
  readonly count?: number;
}

export interface LatencyPercentiles {
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
}

/** The evaluation of one candidate after aggregation of its shards. */
export interface AggregatedMetrics {
  readonly metrics: Record<string, number>;
  readonly slices: Record<string, Record<string, number>>;
  readonly latencyMs: LatencyPercentiles;
  /** Shards read. */
  readonly shards: number;
  /** Where the aggregate was written (s3://...), referenced by the model package's model metrics. */
  readonly metricsUri: string;
}

/** What the workflow knows about one candidate when it reaches the quality gate. */
export interface CandidateOutcome {
  readonly candidate: string;
  /** SHA-256 of the candidate's configuration (hyperparameters, resources, job definition). */
  readonly configHash: string;
  /** EVALUATED: trained and evaluated now; CACHED: a model package exists for the same inputs; FAILED: see failure. */
  readonly status: 'EVALUATED' | 'CACHED' | 'FAILED';
  readonly metrics?: Record<string, number>;
  readonly slices?: Record<string, Record<string, number>>;
  readonly latencyMs?: LatencyPercentiles;
  readonly metricsUri?: string;
  readonly modelDataUrl?: string;
  readonly trainingJobId?: string;
  readonly evaluationJobId?: string;
  /**
   * Trained now: true when spot could not finish the training job and it ran again on the on-demand queue, false when
   * it trained on spot. Absent when nothing was trained (a cache hit, or the training failed: see failureDetail.stage).
   */
  readonly trainedOnDemand?: boolean;
  /**
   * Trained now (evaluated, or failed at any stage): the GPU time of its training, every attempt on every queue. Absent
   * for a cache hit (an earlier run paid for it) and when no training job was submitted.
   */
  readonly trainingTime?: TrainingTime;
  /**
   * Evaluated now: true when spot could not finish the evaluation and it ran again on the evaluation queue's on-demand
   * queue. A failed on-demand evaluation says so in failureDetail.stage ({@link ON_DEMAND_EVALUATION_STAGE}).
   */
  readonly evaluatedOnDemand?: boolean;
  /** CACHED: the existing model package. */
  readonly modelPackageArn?: string;
  /** FAILED: why, one line: the stage, the job's final status reason, its id and attempts. */
  readonly failure?: string;
  /** FAILED: the same as data, summarized by the state machine from the error cause (never the whole job description). */
  readonly failureDetail?: FailureDetail;
}

/** The GPU time of one candidate's training in one run, as the state machine kept it from the Batch job descriptions. */
export interface TrainingTime {
  /** The GPUs of one of its training jobs (the job definition's GPU resource requirement, known at synth). */
  readonly gpus: number;
  readonly attempts: TrainingAttempts;
}

/** The attempts of a candidate's training jobs, per queue. */
export interface TrainingAttempts {
  /** The job on the spot queue (finished, failed, or given up on and retrained on demand). */
  readonly spot?: AttemptTimes;
  /** The job on the on-demand queue, when spot gave out. */
  readonly onDemand?: AttemptTimes;
}

/**
 * The attempts of one Batch job that ran a container, in Unix epoch milliseconds (DescribeJobs `AttemptDetail`
 * `startedAt`: STARTING -> RUNNING, `stoppedAt`: RUNNING -> a terminal state), pairwise: `stoppedAt[i]` ends the
 * attempt `startedAt[i]` began. Reclaimed attempts are in: their instance was billed until it was taken back.
 */
export interface AttemptTimes {
  readonly startedAt: number[];
  readonly stoppedAt: number[];
}

/** A failure as the training workflow summarizes it (small: it travels in the Map's output). */
export interface FailureDetail {
  /** Training, Training on demand, Evaluation, Evaluation on demand or Aggregation. */
  readonly stage: string;
  /** The error name (`States.TaskFailed` for a failed Batch job, the function's error type for a Lambda). */
  readonly error: string;
  /** The Batch job's final status reason, or the function's message. */
  readonly statusReason: string;
  readonly jobId?: string;
  readonly attempts?: number;
  /** The final attempt's exit code; 'none' when no container ran. */
  readonly exitCode?: number | 'none';
  /** The line the gate reports. */
  readonly text: string;
  /** A failed training job: its attempts that ran a container (empty when none did). */
  readonly attemptTimes?: AttemptTimes;
}

/** A bound on one metric. */
export interface MetricThreshold {
  readonly metric: string;
  readonly min?: number;
  readonly max?: number;
}

/** The largest allowed gap of a metric between the best and the worst slice. */
export interface FairnessRule {
  readonly metric: string;
  readonly maxGap: number;
}

/** The gate's rules, configured in the construct's props and given to the gate function as data. */
export interface GateRules {
  /** The metric that ranks candidates and is compared with the champion. */
  readonly primaryMetric: string;
  /** Whether a higher primary metric is better (AUC) or a lower one (loss). */
  readonly higherIsBetter: boolean;
  readonly thresholds: MetricThreshold[];
  readonly fairness: FairnessRule[];
  /** The latency budget: the evaluation's percentile must be at most maxMs. */
  readonly latency?: { readonly percentile: 'p50' | 'p95' | 'p99'; readonly maxMs: number };
  /**
   * How much better than the champion (the newest Approved model package) the primary metric must be, in the
   * metric's units. Undefined: the champion is not considered.
   */
  readonly championMargin?: number;
}

/** The champion as the gate sees it: the newest Approved model package and the metrics in its metadata. */
export interface Champion {
  readonly modelPackageArn: string;
  readonly metrics: Record<string, number>;
}

export interface Rejection {
  readonly candidate: string;
  readonly reasons: string[];
}

/** The gate's verdict. */
export interface GateDecision {
  /** The best candidate that passed every rule; absent when none did. */
  readonly winner?: CandidateOutcome;
  /** Every candidate that did not win, with every reason. */
  readonly rejections: Rejection[];
  readonly champion?: Champion;
  /** One line for people: who won and why, or why nobody did. */
  readonly summary: string;
}

/** Customer metadata keys of the model packages this library registers (the lineage). */
export const LINEAGE_KEYS = {
  codeVersion: 'mlops:code-version',
  /** The training image by digest (`<repository URI>@sha256:...`): with the data and the configuration, what made the model. */
  trainingImage: 'mlops:training-image',
  /** The evaluation image by digest: what measured the metrics the gate judged. */
  evaluationImage: 'mlops:evaluation-image',
  dataVersion: 'mlops:data-version',
  dataManifest: 'mlops:data-manifest',
  candidate: 'mlops:candidate',
  configHash: 'mlops:config-hash',
  trainingJob: 'mlops:training-job',
  evaluationJob: 'mlops:evaluation-job',
  execution: 'mlops:execution',
  /** Why the run started: `push`, `data:<marker key>`, `drift:<alarm name>`, `schedule:<rule name>` or `manual`. */
  trigger: 'mlops:trigger',
  /** Prefix of one key per metric: `mlops:metric:auc` = "0.91". */
  metricPrefix: 'mlops:metric:',
} as const;

/**
 * The training cache key, written into the model package description: same inputs -> same key. The inputs are the
 * training image's digest, the evaluation image's digest, the data version and the candidate's configuration, never
 * the commit: a commit that changes only the serving code builds the same training image, so it reuses the model.
 */
export const CACHE_KEY_PREFIX = 'mlops-cache:';

/**
 * Where the training cache remembers every evaluated candidate, winners and losers, in the model bucket:
 * `<prefix><cache key>.json` holds its `CandidateOutcome`. Only winners become model packages, so without this a
 * candidate that lost would be trained again by every run, serving-only commits included.
 */
export const CACHE_RECORD_PREFIX = 'training-cache/';

/** The `training-cache` event that records an evaluated candidate (instead of looking one up). */
export interface CacheRecordRequest {
  readonly remember: { readonly cacheKey: string; readonly outcome: CandidateOutcome };
}

/**
 * The training workflow's own metrics, one data point each per execution, published by the quality gate function
 * from the outcomes it judges (custom metrics are billed only for the hours they receive data).
 */
export const TRAINING_NAMESPACE = 'cdk-mlops/Training';

/**
 * Metric names in {@link TRAINING_NAMESPACE} (dimension {@link TRAINING_DIMENSIONS}.workflow): counts (unit Count) and
 * GPU hours (unit None: CloudWatch has no hour unit).
 */
export const TRAINING_METRICS = {
  /** Candidates whose training finished on the spot queue. */
  trainedOnSpot: 'CandidatesTrainedOnSpot',
  /** Candidates spot could not train that ran again on the on-demand queue (fallbacks), whatever came of it. Training only. */
  trainedOnDemand: 'CandidatesTrainedOnDemand',
  /** Evaluations spot could not finish that ran again on the evaluation queue's on-demand queue, whatever came of it. */
  evaluationsOnDemand: 'EvaluationsOnDemand',
  /**
   * GPU hours of the training jobs on the spot queue: every attempt that ran, reclaimed ones included, times the
   * job's GPUs (container running time: the instance's start-up and idle time are not in it).
   */
  gpuHoursOnSpot: 'GpuHoursOnSpot',
  /** GPU hours of the training jobs on the on-demand queue (the fallbacks), counted as {@link TRAINING_METRICS}.gpuHoursOnSpot. */
  gpuHoursOnDemand: 'GpuHoursOnDemand',
  /** Candidates not trained because the training cache had their result. */
  cacheHits: 'CacheHits',
  /** Candidates that failed (training, evaluation or aggregation). */
  failed: 'CandidatesFailed',
  /** Candidates judged by the gate (all of them). */
  candidates: 'Candidates',
} as const;

export const TRAINING_DIMENSIONS = { workflow: 'Workflow' } as const;

/** The quality gate function's environment. */
export const GATE_ENV = {
  /** JSON of {@link GateRules}. */
  rules: 'GATE_RULES',
  /** The value of the Workflow dimension of the training metrics; unset: no metric is published. */
  metricsWorkflow: 'METRICS_WORKFLOW',
} as const;

/** The failure stage of a training that fell back to the on-demand queue and failed there. */
export const ON_DEMAND_TRAINING_STAGE = 'Training on demand';

/** The failure stage of an evaluation that fell back to the on-demand queue and failed there. */
export const ON_DEMAND_EVALUATION_STAGE = 'Evaluation on demand';
