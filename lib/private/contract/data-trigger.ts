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
} as const;

/** The pipeline variable that carries the data prefix a run trains on (MlPipeline declares it). */
export const DATA_PREFIX_VARIABLE = 'DATA_PREFIX';

/** The default marker suffix (the marker Spark and Hadoop jobs write when they complete). */
export const DEFAULT_MARKER_SUFFIX = '_SUCCESS';
