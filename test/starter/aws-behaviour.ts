/**
 * What AWS does that the starter test imitates around the starter's real processes: the environment Batch gives a
 * job, how SageMaker runs a serving container, and what its runtime API makes of a container's error answer.
 */
import { documented } from '../fixtures/aws/documented';

/** The variables Batch sets in a job's container, beside those of the job definition and the overrides. */
export const BATCH_JOB_ENVIRONMENT = documented(
  'AWS Batch User Guide, "AWS Batch job environment variables": AWS_BATCH_JOB_ATTEMPT is the attempt number, the first ' +
  'numbered 1; AWS_BATCH_JOB_ARRAY_INDEX is set only in child array jobs, from 0 (https://docs.aws.amazon.com/batch/latest/userguide/job_env_vars.html)',
  { attempt: 'AWS_BATCH_JOB_ATTEMPT', firstAttempt: 1, arrayIndex: 'AWS_BATCH_JOB_ARRAY_INDEX', firstIndex: 0 },
);

/** How SageMaker hosting runs an inference image and where the model is. */
export const SAGEMAKER_SERVING_CONTAINER = documented(
  'Amazon SageMaker AI Developer Guide, "Custom Inference Code with Hosting Services": the container runs as ' +
  '`docker run image serve`, answers GET /ping and POST /invocations on port 8080, and finds the model under /opt/ml/model; ' +
  'a stopped container gets SIGTERM, then SIGKILL 30 seconds later (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html)',
  { argument: 'serve', port: 8080, ping: '/ping', invocations: '/invocations', modelDirectory: '/opt/ml/model', stopSignal: 'SIGTERM' },
);

/**
 * InvokeEndpoint's answer when the container answers with a 4xx or 5xx status: a ModelError carrying the container's
 * status and message.
 */
export const MODEL_ERROR = documented(
  'Amazon SageMaker Runtime API Reference, InvokeEndpoint, Errors: ModelError, "Model (owned by the customer in the container) ' +
  'returned 4xx or 5xx error code", HTTP status 424, with OriginalStatusCode and OriginalMessage ' +
  '(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html; @aws-sdk/client-sagemaker-runtime ModelError)',
  { name: 'ModelError', httpStatusCode: 424 },
);

/** GetObject of a key that does not exist. */
export const NO_SUCH_KEY = documented(
  'Amazon S3 API Reference, GetObject, Errors: NoSuchKey, "The specified key does not exist.", HTTP 404 ' +
  '(https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html)',
  { name: 'NoSuchKey', message: 'The specified key does not exist.', httpStatusCode: 404 },
);
