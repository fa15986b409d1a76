import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { acceptsOnlyWildcardResource } from './actions-without-resources';
import { NagReason } from './nag-reasons';

/** The finding id cdk-nag gives a policy that allows actions on any resource. */
export const WILDCARD_RESOURCE_FINDING = 'AwsSolutions-IAM5[Resource::*]';

/**
 * Acknowledges cdk-nag findings on the construct that owns the resource: one finding id per entry, each with the
 * reason a reviewer can check, from the catalogue (`REASONS` of nag-reasons.ts). Uses aws-cdk-lib's own Validations API, so lib/ needs no cdk-nag import.
 *
 * The ids are resolved when the app is validated, after cross-stack references have been rewritten and with the
 * stack's environment known, so an id built with {@link nagResourceId} names the resource exactly as cdk-nag
 * reports it in every app shape. `AwsSolutions-IAM5[Resource::*]` is acknowledged only while every action the
 * construct's policies allow on "*" accepts no other resource: a grant that could be scoped still surfaces.
 */
export function acknowledge(scope: IConstruct, findings: Record<string, NagReason>): void {
  scope.node.addValidation({
    validate: () => {
      acknowledgeNow(scope, findings);
      return [];
    },
  });
}

/** {@link acknowledge}, done now: only for code that already runs while the app is validated. */
export function acknowledgeNow(scope: IConstruct, findings: Record<string, NagReason>): void {
  const stack = Stack.of(scope);
  for (const [id, reason] of Object.entries(findings)) {
    const resolved: string = stack.resolve(id);
    if (resolved === WILDCARD_RESOURCE_FINDING && scopableActionsOnWildcard(scope).length > 0) continue;
    Validations.of(scope).acknowledge({ id: resolved, reason });
  }
}

/** The actions the policies in a construct's tree allow on "*" although IAM could scope them. */
export function scopableActionsOnWildcard(scope: IConstruct): string[] {
  const scopable = new Set<string>();
  for (const node of scope.node.findAll()) {
    for (const document of policyDocuments(node)) {
      for (const statement of document.Statement ?? []) {
        if (statement.Effect !== 'Allow' || ![statement.Resource].flat().includes('*')) continue;
        for (const action of [statement.Action].flat() as string[]) {
          if (!acceptsOnlyWildcardResource(action)) scopable.add(action);
        }
      }
    }
  }
  return [...scopable];
}

function policyDocuments(node: IConstruct): any[] {
  if (!CfnResource.isCfnResource(node)) return [];
  const stack = Stack.of(node);
  if (node instanceof iam.CfnPolicy || node instanceof iam.CfnManagedPolicy) return [stack.resolve(node.policyDocument)];
  if (node instanceof iam.CfnRole) return (stack.resolve(node.policies) ?? []).map((p: any) => stack.resolve(p.policyDocument));
  return [];
}

/** The CloudFormation metadata key under which a resource lists the Control Tower rules it does not meet, and why. */
export const CONTROL_TOWER_EXEMPTIONS = 'cdk-mlops:control-tower-exemptions';

/**
 * Records, on the resource itself, the AWS Control Tower proactive controls (cfn-guard rule names) it does not
 * meet and why. cfn-guard has no acknowledgement of its own; the reasons travel in the template for reviewers,
 * and the library's compliance tests accept a finding only when its resource carries the rule here.
 */
export function exemptFromControlTower(resource: CfnResource, exemptions: Record<string, NagReason>): void {
  const existing = (resource.getMetadata(CONTROL_TOWER_EXEMPTIONS) ?? {}) as Record<string, string>;
  resource.addMetadata(CONTROL_TOWER_EXEMPTIONS, { ...existing, ...exemptions });
}
