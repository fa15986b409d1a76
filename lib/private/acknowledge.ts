import { Validations } from 'aws-cdk-lib';
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
