import { CfnResource, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on the construct that owns the resource: one finding id per entry, each with
 * the reason a reviewer can check. Uses aws-cdk-lib's own Validations API, so lib/ needs no cdk-nag import.
 */
export function acknowledge(scope: IConstruct, findings: Record<string, string>): void {
  for (const [id, reason] of Object.entries(findings)) {
    Validations.of(scope).acknowledge({ id, reason });
  }
}

/** The CloudFormation metadata key under which a resource lists the Control Tower rules it does not meet, and why. */
export const CONTROL_TOWER_EXEMPTIONS = 'cdk-mlops:control-tower-exemptions';

/**
 * Records, on the resource itself, the AWS Control Tower proactive controls (cfn-guard rule names) it does not
 * meet and why. cfn-guard has no acknowledgement of its own; the reasons travel in the template for reviewers,
 * and the library's compliance tests accept a finding only when its resource carries the rule here.
 */
export function exemptFromControlTower(resource: CfnResource, exemptions: Record<string, string>): void {
  const existing = (resource.getMetadata(CONTROL_TOWER_EXEMPTIONS) ?? {}) as Record<string, string>;
  resource.addMetadata(CONTROL_TOWER_EXEMPTIONS, { ...existing, ...exemptions });
}
