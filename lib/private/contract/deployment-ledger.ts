/**
 * The deployment ledger's layout, CDK-free: the construct (IAM scoped to the records) and the handlers (record,
 * query) read this one definition.
 *
 * A record is `<LEDGER_ROOT><endpointName>/<deployedAt>_<pipelineExecutionId>.json` in the ledger bucket.
 */

/** The key prefix of every record: the construct grants only under it; the handlers write and list only under it. */
export const LEDGER_ROOT = 'deployments/';

/** The environment variable that names the ledger bucket for both handlers. */
export const LEDGER_BUCKET_ENV = 'LEDGER_BUCKET';

/** The output variables of the record action (CodePipeline `outputVariables` of PutJobSuccessResult). */
export const LEDGER_OUTPUT_VARIABLES = {
  /** The key of the record. */
  ledgerKey: 'LEDGER_KEY',
  /** The endpoint configuration that serves the recorded model. */
  endpointConfig: 'ENDPOINT_CONFIG',
} as const;
