import { IConstruct } from 'constructs';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** The per-run values of a training job, see {@link ContainerContract.trainingEnvironment}. */
export interface TrainingEnvironmentOptions {
  /** The S3 prefix of the training data, `s3://bucket/prefix/`. */
  readonly dataUri: string;
  /**
   * The data version: an S3 version id, or the URI of the manifest that lists the object versions of the data.
   * @default - not set: the job reads the current objects under `dataUri`
   */
  readonly dataVersion?: string;
  /**
   * The data version's manifest, `s3://bucket/<manifest prefix><data version id>.jsonl`: one JSON line per object
   * (key, versionId, etag, size) that the job reads, at exactly that version.
   * @default - not set
   */
  readonly dataManifestUri?: string;
  /** Where the job writes `model.tar.gz` and `metrics.json`, `s3://bucket/prefix/`: one prefix per run and candidate. */
  readonly outputUri: string;
  /**
   * Where the job writes and reads its checkpoints, `s3://bucket/prefix/`. It must be the same for every attempt of
   * one run (Batch retries run the same container with the same environment), and differ between runs.
   */
  readonly checkpointUri: string;
  /** The name of the candidate approach this job trains, for example `xgboost-deep`. */
  readonly candidate: string;
  /**
   * The hyperparameters of the candidate; passed as one JSON object, keys sorted.
   * @default - `{}`
   */
  readonly hyperparameters?: { [key: string]: any };
  /**
   * The commit of the training code, recorded with the model for lineage.
   * @default - not set
   */
  readonly codeVersion?: string;
}

/** The per-run values of an evaluation job, see {@link ContainerContract.evaluationEnvironment}. */
export interface EvaluationEnvironmentOptions {
  /** The S3 prefix of the evaluation data, `s3://bucket/prefix/`. */
  readonly dataUri: string;
  /**
   * The data version: an S3 version id, or the URI of the manifest that lists the object versions of the data.
   * @default - not set: the job reads the current objects under `dataUri`
   */
  readonly dataVersion?: string;
  /**
   * The data version's manifest, `s3://bucket/<manifest prefix><data version id>.jsonl`: one JSON line per object
   * (key, versionId, etag, size) that the job reads, at exactly that version.
   * @default - not set
   */
  readonly dataManifestUri?: string;
  /** The trained model to evaluate, `s3://bucket/prefix/model.tar.gz`. */
  readonly modelUri: string;
  /** Where each shard writes `metrics-<index>.json`, `s3://bucket/prefix/`. */
  readonly outputUri: string;
  /**
   * The candidate the model belongs to.
   * @default - not set
   */
  readonly candidate?: string;
  /**
   * The commit of the evaluation code.
   * @default - not set
   */
  readonly codeVersion?: string;
}

/**
 * The container contract: what the training and evaluation images of this library get from their environment and
 * must do. The job definition sets the static part; the workflow passes the per-run part as container overrides
 * (`trainingEnvironment()`, `evaluationEnvironment()`).
 *
 * A training job reads `MLOPS_DATA_URI` (at `MLOPS_DATA_VERSION`), trains the `MLOPS_CANDIDATE` approach with
 * `MLOPS_HYPERPARAMETERS`, writes `model.tar.gz` and `metrics.json` under `MLOPS_OUTPUT_URI`, and checkpoints to
 * `MLOPS_CHECKPOINT_URI`: when `AWS_BATCH_JOB_ATTEMPT` is greater than 1 and a checkpoint exists, it resumes from
 * it (a spot instance was reclaimed; Batch gives a 2-minute notice, then SIGTERM and SIGKILL).
 *
 * An evaluation job is an array job: child `AWS_BATCH_JOB_ARRAY_INDEX` of `MLOPS_SHARD_COUNT` evaluates the model at
 * `MLOPS_MODEL_URI` on its shard of the data and writes `metrics-<index>.json` under `MLOPS_OUTPUT_URI`. With one
 * shard the job is not an array job and `AWS_BATCH_JOB_ARRAY_INDEX` is not set: read it as 0.
 *
 * @example
 * const overrides = ContainerContract.trainingEnvironment({
 *   dataUri: 's3://data/datasets/fraud/',
 *   outputUri: 's3://models/runs/42/xgboost/',
 *   checkpointUri: 's3://checkpoints/runs/42/xgboost/',
 *   candidate: 'xgboost',
 *   hyperparameters: { maxDepth: 8, eta: 0.1 },
 *   codeVersion: '3f2c1ab',
 * });
 */
export class ContainerContract {
  /** The S3 prefix of the data the job reads, `s3://bucket/prefix/`. */
  public static readonly DATA_URI = 'MLOPS_DATA_URI';
  /** The version of the data: an S3 version id, or the URI of the manifest of the object versions. Optional. */
  public static readonly DATA_VERSION = 'MLOPS_DATA_VERSION';
  /**
   * The data version's manifest, `s3://bucket/<manifest prefix><data version id>.jsonl`: one JSON line per object
   * (`key`, `versionId`, `etag`, `size`); read each listed object at its `versionId`. The training workflow sets it and
   * grants the jobs read on the manifest prefix. Optional.
   */
  public static readonly DATA_MANIFEST_URI = 'MLOPS_DATA_MANIFEST_URI';
  /**
   * The S3 prefix the job writes to: `model.tar.gz` and `metrics.json` for training, `metrics-<index>.json` for
   * evaluation.
   */
  public static readonly OUTPUT_URI = 'MLOPS_OUTPUT_URI';
  /**
   * The S3 prefix of the checkpoints: the same for every attempt of one run. Resume from it when
   * `AWS_BATCH_JOB_ATTEMPT` is greater than 1 and a checkpoint exists. Training only.
   */
  public static readonly CHECKPOINT_URI = 'MLOPS_CHECKPOINT_URI';
  /** The name of the candidate approach, for example `xgboost-deep`. */
  public static readonly CANDIDATE = 'MLOPS_CANDIDATE';
  /** The hyperparameters of the candidate, one JSON object. Training only. */
  public static readonly HYPERPARAMETERS = 'MLOPS_HYPERPARAMETERS';
  /** The commit of the code the image was built from, for lineage. Optional. */
  public static readonly CODE_VERSION = 'MLOPS_CODE_VERSION';
  /** The trained model to evaluate, `s3://bucket/prefix/model.tar.gz`. Evaluation only. */
  public static readonly MODEL_URI = 'MLOPS_MODEL_URI';
  /**
   * How many shards the evaluation is split into (the array size); set by the job definition from its `shards`.
   * Evaluation only.
   */
  public static readonly SHARD_COUNT = 'MLOPS_SHARD_COUNT';
  /** Set by Batch: the number of this attempt, 1 for the first. Greater than 1: resume from the checkpoint. */
  public static readonly AWS_BATCH_JOB_ATTEMPT = 'AWS_BATCH_JOB_ATTEMPT';
  /**
   * Set by Batch in the children of an array job: this child's index, 0 to size - 1. It selects the evaluation
   * shard. Not set when the job is not an array job (one shard): read it as 0.
   */
  public static readonly AWS_BATCH_JOB_ARRAY_INDEX = 'AWS_BATCH_JOB_ARRAY_INDEX';
  /** The file a training job writes under `OUTPUT_URI`: the model, as SageMaker expects it. */
  public static readonly MODEL_FILE = 'model.tar.gz';
  /** The file a training job writes under `OUTPUT_URI`: its metrics, one JSON object. */
  public static readonly METRICS_FILE = 'metrics.json';

  /**
   * The file evaluation shard `index` writes under `OUTPUT_URI`, `metrics-<index>.json`.
   * @param index the shard, `AWS_BATCH_JOB_ARRAY_INDEX` (0 for a single shard)
   */
  public static shardMetricsFile(index: number): string {
    return `metrics-${index}.json`;
  }

  /** The environment of one training run, to pass as container overrides. Optional values left unset are omitted. */
  public static trainingEnvironment(options: TrainingEnvironmentOptions): { [name: string]: string } {
    validateUris('trainingEnvironment', {
      dataUri: options.dataUri,
      dataManifestUri: options.dataManifestUri,
      outputUri: options.outputUri,
      checkpointUri: options.checkpointUri,
    });
    return compact({
      [ContainerContract.DATA_URI]: options.dataUri,
      [ContainerContract.DATA_VERSION]: options.dataVersion,
      [ContainerContract.DATA_MANIFEST_URI]: options.dataManifestUri,
      [ContainerContract.OUTPUT_URI]: options.outputUri,
      [ContainerContract.CHECKPOINT_URI]: options.checkpointUri,
      [ContainerContract.CANDIDATE]: options.candidate,
      [ContainerContract.HYPERPARAMETERS]: JSON.stringify(sortKeys(options.hyperparameters ?? {})),
      [ContainerContract.CODE_VERSION]: options.codeVersion,
    });
  }

  /** The environment of one evaluation run, to pass as container overrides. Optional values left unset are omitted. */
  public static evaluationEnvironment(options: EvaluationEnvironmentOptions): { [name: string]: string } {
    validateUris('evaluationEnvironment', {
      dataUri: options.dataUri,
      dataManifestUri: options.dataManifestUri,
      modelUri: options.modelUri,
      outputUri: options.outputUri,
    });
    return compact({
      [ContainerContract.DATA_URI]: options.dataUri,
      [ContainerContract.DATA_VERSION]: options.dataVersion,
      [ContainerContract.DATA_MANIFEST_URI]: options.dataManifestUri,
      [ContainerContract.MODEL_URI]: options.modelUri,
      [ContainerContract.OUTPUT_URI]: options.outputUri,
      [ContainerContract.CANDIDATE]: options.candidate,
      [ContainerContract.CODE_VERSION]: options.codeVersion,
    });
  }

  private constructor() {}
}

/**
 * The job reads and writes these with the S3 API: anything but an s3:// URI (a bare key, an https:// URL, a local path)
 * fails only inside the container, after the job has started. Tokens (a JSONPath of the execution) are not checked.
 */
function validateUris(method: string, uris: Record<string, string | undefined>): void {
  // No construct here: the message names the method instead of a construct path.
  const where = { node: { path: `ContainerContract.${method}` } } as unknown as IConstruct;
  for (const [prop, uri] of Object.entries(uris)) {
    if (isConcrete(uri) && !/^s3:\/\/[^/]+\//.test(uri)) {
      throw new MlOpsValidationError(where, 'ContainerContract', prop, uri, 'Give an S3 URI, s3://<bucket>/<key or prefix>.');
    }
  }
}

function compact(values: Record<string, string | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined) result[name] = value;
  }
  return result;
}

/** Sorted keys, at every depth: the same hyperparameters always give the same string (and the same cache keys). */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
}
