/**
 * The AWS Batch status reasons the library acts on, CDK-free so that the EventBridge rules, the state machines and
 * the handlers read one definition.
 *
 * AWS Batch User Guide, "Jobs stuck in a RUNNABLE status" and the pages it links ("... due to capacity", "... due
 * to misconfiguration", "Automatic remediation with jobStateTimeLimitActions"): while a job is stuck at the head of
 * its queue, its statusReason starts with the reason (`CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Service cannot
 * ...`); once a job state time limit action cancels it, the statusReason is
 * `Canceled by JobStateTimeLimit action due to reason: <reason>`, which starts with neither CAPACITY nor
 * MISCONFIGURATION.
 */

/** What a job state time limit action writes before the reason, once it has cancelled the job. */
export const TIME_LIMIT_CANCEL_PREFIX = 'Canceled by JobStateTimeLimit action due to reason: ';

/** All connected compute environments have insufficient capacity errors: the on-demand queue may still have some. */
export const CAPACITY_REASON = 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY';

/**
 * Blocked-queue reasons a job state time limit action can cancel (the "Automatic remediation" page lists exactly
 * these three).
 */
export const CANCELLABLE_REASONS = [
  CAPACITY_REASON,
  'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE',
  'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT',
] as const;

/**
 * The fourth blocked-queue reason of the misconfiguration page: the instance types or the launch template do not
 * work in the Region or Availability Zones. The page gives no jobStateTimeLimitActions reason for it and the
 * remediation page does not list it, so no queue can cancel such a job: only the "Batch Job Queue Blocked" event
 * tells. Its statusReason while stuck: `MISCONFIGURATION:EC2_INSTANCE_CONFIGURATION_UNSUPPORTED - Your compute
 * environment associated with this job queue has an unsupported instance type configuration.`
 */
export const UNSUPPORTED_INSTANCE_CONFIGURATION_REASON = 'MISCONFIGURATION:EC2_INSTANCE_CONFIGURATION_UNSUPPORTED';

/** Every blocked-queue reason the library names: the three cancellable ones and the one that is not. */
export const BLOCKED_QUEUE_REASONS = [...CANCELLABLE_REASONS, UNSUPPORTED_INSTANCE_CONFIGURATION_REASON] as const;

/** The statusReason of a job a time limit action cancelled because no compute environment had capacity. */
export const CANCELLED_FOR_CAPACITY = `${TIME_LIMIT_CANCEL_PREFIX}${CAPACITY_REASON}`;

/**
 * The status reason of an attempt whose spot instance was reclaimed: `Host EC2 (instance i-...) terminated.`
 * (aws-cdk-lib's `batch.Reason.SPOT_INSTANCE_RECLAIMED` matches it with this glob).
 */
export const SPOT_RECLAIMED_PREFIX = 'Host EC2';

/** Whether Batch could not run the job on spot: cancelled for capacity, or reclaimed on its final attempt. */
export function spotGaveOut(finalStatusReason: string | undefined): boolean {
  return finalStatusReason !== undefined &&
    (finalStatusReason.startsWith(CANCELLED_FOR_CAPACITY) || finalStatusReason.startsWith(SPOT_RECLAIMED_PREFIX));
}
