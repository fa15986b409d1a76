import { Aspects, IAspect, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { acknowledgeNow } from './acknowledge';
import { NagReason } from './nag-reasons';
import { renderNagResource } from './nag-resource';

/** Why a kind of wildcard, in actions or resources, is acceptable. */
export interface WildcardReason {
  /** Matched against the action (`s3:GetObject*`) or the resource as cdk-nag renders it. */
  readonly pattern?: RegExp;
  /** Or exactly this resource (an ARN, tokens allowed), rendered as cdk-nag renders it when the app is validated. */
  readonly resource?: string;
  readonly reason: NagReason;
}

/**
 * Acknowledges, on every IAM policy below `scope`, the AwsSolutions-IAM5 findings of wildcards that aws-cdk-lib's
 * own grants write (pipeline actions, artifact access), one finding id each, with the reason of the first pattern
 * that matches. A wildcard no pattern matches is left for cdk-nag to report. Runs as an aspect, when every grant
 * of the app has been made.
 */
export function acknowledgeGrantWildcards(scope: IConstruct, reasons: WildcardReason[], onEveryPolicy: Record<string, NagReason> = {}): void {
  Aspects.of(scope).add(new GrantWildcards(reasons, onEveryPolicy));
}

class GrantWildcards implements IAspect {
  constructor(private readonly reasons: WildcardReason[], private readonly onEveryPolicy: Record<string, NagReason>) {}

  public visit(node: IConstruct): void {
    if (!(node instanceof iam.CfnPolicy)) return;
    // At validation, when cross-stack references are imports: the policy as cdk-nag will read it.
    node.node.addValidation({
      validate: () => {
        acknowledgeNow(node, { ...this.onEveryPolicy, ...this.findings(node) });
        return [];
      },
    });
  }

  private findings(node: iam.CfnPolicy): Record<string, NagReason> {
    const document = Stack.of(node).resolve(node.policyDocument) as { Statement?: Array<{ Action?: unknown; Resource?: unknown }> };
    const exact = this.reasons.filter((r) => r.resource !== undefined).map((r) => ({ ...r, rendered: renderNagResource(node, r.resource) }));
    const findings: Record<string, NagReason> = {};
    const add = (finding: string, value: string) => {
      const match = exact.find((r) => r.rendered === value) ?? this.reasons.find((r) => r.pattern?.test(value));
      if (match) findings[`AwsSolutions-IAM5[${finding}]`] = match.reason;
    };
    for (const statement of document.Statement ?? []) {
      for (const action of asList(statement.Action)) {
        if (typeof action === 'string' && action.includes('*')) add(`Action::${action}`, action);
      }
      for (const resource of asList(statement.Resource)) {
        const rendered = renderNagResource(node, resource);
        if (rendered.includes('*')) add(`Resource::${rendered}`, rendered);
      }
    }
    return findings;
  }
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
