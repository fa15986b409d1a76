import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * The throttling and transient error names each Step Functions integration raises, as the Step Functions
 * Developer Guide names them: an AWS SDK integration raises `<Service>.<ErrorCode>Exception` ("Learning to use AWS
 * service SDK integrations": the Exception suffix is always added), the Lambda integration its own names
 * ("Handling errors in Step Functions workflows" and "Best practices: handle transient Lambda service exceptions").
 */
export const TRANSIENT_ERRORS = {
  /** Lambda Invoke: throttled at the concurrency limit, and the service's own transient failures. */
  lambda: [
    'Lambda.TooManyRequestsException',
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.ClientExecutionTimeoutException',
  ],
  /** SageMaker SDK integrations: the SageMaker API's common errors (throttling, 500, 503). */
  sagemaker: [
    'SageMaker.ThrottlingException',
    'SageMaker.InternalFailureException',
    'SageMaker.ServiceUnavailableException',
    'SageMaker.RequestThrottledException',
  ],
  /**
   * Batch SubmitJob: the Batch API's ServerException (500) and throttling (429 TooManyRequestsException, per the
   * re:Post article "AWS Batch requests error"). The optimized integration reports an error code it has no class for
   * as `Batch.AWSBatchException` (the Java SDK's service exception, as public traces show it), throttling included.
   */
  batch: [
    'Batch.AWSBatchException',
    'Batch.ServerException',
    'Batch.TooManyRequestsException',
    'Batch.ThrottlingException',
  ],
  /**
   * Application Auto Scaling SDK integrations (RegisterScalableTarget, PutScalingPolicy): the API's throttling
   * (ThrottlingException, "Rate exceeded"), its internal error, and ConcurrentUpdateException (an update while another
   * is pending). The service part is the SDK's PascalCase service name, as the guide's AcmPca example shows.
   */
  applicationAutoScaling: [
    'ApplicationAutoScaling.ThrottlingException',
    'ApplicationAutoScaling.InternalServiceException',
    'ApplicationAutoScaling.ConcurrentUpdateException',
  ],
  /**
   * CloudWatch SDK integrations (GetMetricData): the API's common errors Throttling (HTTP 400), InternalFailure (500) and
   * ServiceUnavailable (503), each with the Exception suffix the rule adds.
   */
  cloudwatch: [
    'CloudWatch.ThrottlingException',
    'CloudWatch.InternalFailureException',
    'CloudWatch.ServiceUnavailableException',
  ],
  /** Step Functions StartExecution (a nested execution). */
  stepFunctions: [
    'StepFunctions.ThrottlingException',
    'StepFunctions.ServiceUnavailableException',
    'StepFunctions.InternalFailureException',
  ],
} as const;

/** The integrations whose transient errors a Task can retry. */
export type Integration = keyof typeof TRANSIENT_ERRORS;

/**
 * Bounded backoff with full jitter: 6 retries from 2 s, doubling, each wait at most 60 s (at most about 2.5 minutes
 * in all), so one throttled call never fails an execution and a real outage still ends it.
 */
export const TRANSIENT_RETRY = {
  interval: Duration.seconds(2),
  maxAttempts: 6,
  backoffRate: 2,
  maxDelay: Duration.seconds(60),
  jitterStrategy: sfn.JitterType.FULL,
} as const;

/**
 * Adds the retry of its integration's throttling and transient errors to a Task. Add it before any other retry:
 * Step Functions uses the first retrier whose errors match. Lambda tasks set `retryOnServiceExceptions: false`,
 * since this retrier covers aws-cdk-lib's default and adds `Lambda.TooManyRequestsException`.
 */
export function retryTransient<T extends sfn.TaskStateBase>(task: T, integration: Integration): T {
  task.addRetry({ errors: [...TRANSIENT_ERRORS[integration]], ...TRANSIENT_RETRY });
  return task;
}
