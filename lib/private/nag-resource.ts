import { ArnComponents, ArnFormat, Lazy, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * How cdk-nag writes a resource ARN in a finding id: `Ref`s become `<Name>`, `Fn::GetAtt`s become
 * `<LogicalId.Attribute>`, an `Fn::ImportValue` its export name, `${...}` of `Fn::Sub` `<...>`. Lets a construct
 * acknowledge exactly the wildcard it grants, e.g. `AwsSolutions-IAM5[Resource::<Bucket.Arn>/data/*]`.
 *
 * Lazy: it is rendered when {@link acknowledge} resolves the id at validation, once cross-stack references are
 * imports and a fixed environment's account and region are literals, as cdk-nag sees them.
 */
export function nagResourceId(scope: IConstruct, arn: string): string {
  return Lazy.string({ produce: () => renderNagResource(scope, arn) });
}

/** {@link nagResourceId} rendered now: call it only while the app is validated. */
export function renderNagResource(scope: IConstruct, arn: unknown): string {
  return render(Stack.of(scope).resolve(arn));
}

function render(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::Join'])) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
    if (v['Fn::Sub'] !== undefined) return render(v['Fn::Sub']);
    if (Array.isArray(v['Fn::GetAtt'])) return `<${(v['Fn::GetAtt'] as unknown[]).map(render).join('.')}>`;
    if (v['Fn::ImportValue'] !== undefined) return render(v['Fn::ImportValue']);
    if (v.Ref !== undefined) return `<${render(v.Ref)}>`;
  }
  return JSON.stringify(value);
}

/** {@link nagResourceId} of an ARN of the scope's stack (its partition, region and account). */
export function nagArnId(scope: IConstruct, components: ArnComponents): string {
  return nagResourceId(scope, Stack.of(scope).formatArn(components));
}

/** The default log group and report groups aws-cdk-lib grants a CodeBuild project, as finding ids. */
export function codeBuildDefaultGrantIds(scope: IConstruct, projectName: string): { logGroup: string; reportGroups: string } {
  return {
    logGroup: `AwsSolutions-IAM5[Resource::${nagArnId(scope, {
      service: 'logs', resource: 'log-group', resourceName: `/aws/codebuild/${projectName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    })}]`,
    reportGroups: `AwsSolutions-IAM5[Resource::${nagArnId(scope, { service: 'codebuild', resource: 'report-group', resourceName: `${projectName}-*` })}]`,
  };
}
