// Keys: one customer-managed key per stack, or one per purpose.
export * from './keys/mlops-keys';
// Storage: versioned, encrypted, retained buckets and data versions.
export * from './storage/bucket-purpose';
export * from './storage/versioned-bucket';
export * from './storage/data-version-snapshot';
// Registries: serving images and model versions.
export * from './registry/model-image-repository';
export * from './registry/model-package-group';
export * from './registry/latest-approved-model-lookup';
// Compute: AWS Batch on spot GPUs and CPUs.
export * from './compute/batch-network';
export * from './compute/instance-catalog';
export * from './compute/ml-job-queue';
export * from './compute/spot-queue-options';
export * from './compute/spot-gpu-queue';
export * from './compute/spot-cpu-queue';
export * from './compute/container-contract';
export * from './compute/retry-policy';
export * from './compute/ml-job-definition';
// Workflow: train candidates in parallel, evaluate, gate, register.
export * from './workflow/quality-gate-rules';
export * from './workflow/training-workflow';
// Serving: one image per model version, endpoints that update safely.
export * from './serving/deployment-policy';
export * from './serving/endpoint-options';
export * from './serving/model-endpoint';
export * from './serving/on-demand-endpoint';
export * from './serving/serving-image-build';
export * from './serving/endpoint-deployment';
export * from './serving/endpoint-test-runner';
export * from './serving/ephemeral-endpoint-test';
// Pipeline: from a commit or a new data version to production.
export * from './pipeline/pipeline-source';
export * from './pipeline/data-version-trigger';
export * from './pipeline/deployment-ledger';
export * from './pipeline/check-stage-options';
export * from './pipeline/ml-pipeline';
export * from './pipeline/training-image-build';
// Cost: what an app costs idle and per run, and a guard against runaway spend.
export * from './cost/prices';
export * from './cost/cost-estimate';
export * from './cost/cost-table';
export * from './cost/cost-report-plugin';
export * from './cost/spend-budget';
// Options shared by the constructs whose function EventBridge invokes.
export * from './event-handler-options';
// Errors: tell this library's validation errors apart.
export * from './errors';
export * from './monitoring/drift-monitor';
export * from './monitoring/model-quality-monitor';
export * from './monitoring/retraining-trigger';
export * from './monitoring/mlops-dashboard';
export * from './monitoring/alert-subscriptions';
export * from './serving/shadow-test';
