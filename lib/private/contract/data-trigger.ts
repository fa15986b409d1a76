/**
 * What the data version trigger and its handler share, CDK-free: the construct sets the environment, the handler
 * reads it, and the pipeline declares the variable the handler sets.
 */

/** The environment variables of the start-pipeline-on-data function. */
export const DATA_TRIGGER_ENV = {
  /** The data bucket whose markers start a run. */
  bucket: 'DATA_BUCKET',
  /** The prefix new data versions are written under (may be empty: the whole bucket). */
  prefix: 'DATA_PREFIX',
  /** The key suffix of the marker object of a complete data version. */
  markerSuffix: 'MARKER_SUFFIX',
  /** The pipeline to start. */
  pipelineName: 'PIPELINE_NAME',
  /** The pipeline variable that receives the data location. */
  variableName: 'VARIABLE_NAME',
  /** Optional: the pipeline variable that records why the run started (`data:<marker key>`). */
  triggerVariable: 'TRIGGER_VARIABLE',
} as const;

/** The pipeline variable that carries the data prefix a run trains on (MlPipeline declares it). */
export const DATA_PREFIX_VARIABLE = 'DATA_PREFIX';

/**
 * The pipeline variable that records why a run started (MlPipeline declares it): `push` (its default: a commit or a
 * start by hand), `data:<marker key>` (DataVersionTrigger), `drift:<alarm name>` or `schedule:<rule name>`
 * (RetrainingTrigger). The Train stage passes it to the training workflow, which records it in the model's lineage.
 */
export const TRIGGER_VARIABLE = 'TRIGGER';

/** The trigger variable's default in the pipeline: the run was started by its source (or by hand). */
export const DEFAULT_PIPELINE_TRIGGER = 'push';

/** The trigger the training workflow records when its input has none (an execution started outside the pipeline). */
export const DEFAULT_WORKFLOW_TRIGGER = 'manual';

/** A pipeline variable holds at most 1000 characters (CodePipeline's limit on a variable's value). */
export const MAX_VARIABLE_VALUE = 1000;

/** The default marker suffix (the marker Spark and Hadoop jobs write when they complete). */
export const DEFAULT_MARKER_SUFFIX = '_SUCCESS';
