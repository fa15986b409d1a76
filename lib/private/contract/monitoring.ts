/**
 * What the monitoring constructs (lib/monitoring) and their handlers share, CDK-free: the metric names they publish
 * and alarm on, the environment the constructs set and the handlers read, and the baseline file's shape.
 */

/** The CloudWatch namespace of every metric the monitoring handlers publish. */
export const MONITORING_NAMESPACE = 'cdk-mlops/Monitoring';

/** Metric names in {@link MONITORING_NAMESPACE}. */
export const MONITORING_METRICS = {
  /** The largest population stability index of any feature in one capture file (dimension EndpointName). */
  driftScore: 'DriftScore',
  /** The largest share of captured instances without a feature, in one capture file (EndpointName). */
  missingFeatureRate: 'MissingFeatureRate',
  /** Captured instances read from capture files (EndpointName). */
  capturedInstances: 'CapturedInstances',
  /** One feature's population stability index (EndpointName, Feature); published only when asked for. */
  featureDrift: 'FeatureDrift',
  /** Labelled predictions joined with their capture (EndpointName). */
  labelledPredictions: 'LabelledPredictions',
  /** Share of labelled predictions whose predicted label is the true one (EndpointName). */
  accuracy: 'Accuracy',
  /** Area under the ROC curve of the labelled predictions' probabilities (EndpointName); needs both classes. */
  auc: 'Auc',
} as const;

/** Metric dimensions. */
export const MONITORING_DIMENSIONS = { endpoint: 'EndpointName', feature: 'Feature' } as const;

/** Where baselines are kept in the model bucket: `<prefix><model package group>/<version>/baseline.json`. */
export const BASELINE_PREFIX = 'baselines/';

/** The environment of the `drift-monitor` function. */
export const DRIFT_ENV = {
  captureBucket: 'CAPTURE_BUCKET',
  /** `data-capture/<endpoint>/`: only capture files under it are read. */
  capturePrefix: 'CAPTURE_PREFIX',
  endpointName: 'ENDPOINT_NAME',
  /** JSON array of the numeric feature names, in the order of list-form instances. */
  features: 'FEATURES',
  modelPackageGroup: 'MODEL_PACKAGE_GROUP',
  modelBucket: 'MODEL_BUCKET',
  /** The base name of the training data files in the data manifest (CSV with a header), e.g. `train.csv`. */
  trainingFile: 'TRAINING_FILE',
  /** Fewest instances in a capture file for its drift score to be published. */
  minInstances: 'MIN_INSTANCES',
  bins: 'BINS',
  /** `true`: also publish one FeatureDrift metric per feature. */
  perFeatureMetrics: 'PER_FEATURE_METRICS',
} as const;

/** The environment of the `model-quality-monitor` function. */
export const QUALITY_ENV = {
  bucket: 'CAPTURE_BUCKET',
  capturePrefix: 'CAPTURE_PREFIX',
  labelsPrefix: 'LABELS_PREFIX',
  endpointName: 'ENDPOINT_NAME',
} as const;

/** The environment of the `retrain-on-drift` function. */
export const RETRAIN_ENV = {
  pipelineName: 'PIPELINE_NAME',
  /** The pipeline variable that records why the run started (`drift:<alarm name>`, `schedule:<rule name>`). */
  triggerVariable: 'TRIGGER_VARIABLE',
  /** Optional: the pipeline variable that receives {@link RETRAIN_ENV.dataPrefix}. */
  dataPrefixVariable: 'DATA_PREFIX_VARIABLE',
  /** Optional: the data prefix to train on; unset, the run keeps the pipeline's default (its latest data). */
  dataPrefix: 'DATA_PREFIX',
  coolDownSeconds: 'COOL_DOWN_SECONDS',
} as const;

/** The pipeline variable that records why a run started, unless the construct is given another (declared with the data prefix's). */
export { TRIGGER_VARIABLE } from './data-trigger';

/** The distribution of one numeric feature in the training data: bin edges and the share of values in each bin. */
export interface FeatureBaseline {
  /**
   * Inner bin edges, ascending: bin 0 holds values below edges[0], bin i values in [edges[i-1], edges[i]), the last bin
   * values at or above the last edge. edges.length + 1 bins.
   */
  readonly edges: number[];
  /** The share of training values in each bin (sums to 1). */
  readonly shares: number[];
  /** Training rows where the feature was missing or not a number, as a share. */
  readonly missingRate: number;
}

/** `baseline.json`: what the drift monitor compares captured requests with. */
export interface DriftBaseline {
  readonly format: 'cdk-mlops-baseline/1';
  readonly modelPackageArn: string;
  readonly dataManifest: string;
  readonly rows: number;
  readonly features: Record<string, FeatureBaseline>;
}

/** Where a ModelEndpoint's data capture writes: `<root><endpoint name>/<variant>/yyyy/mm/dd/hh/<file>.jsonl`. */
export const CAPTURE_ROOT = 'data-capture/';

/** Where a team writes ground-truth labels, unless told otherwise: `<root><endpoint name>/<variant>/yyyy/mm/dd/hh/`. */
export const LABELS_ROOT = 'labels/';
