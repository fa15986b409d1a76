/** Small readers over a synthesized CloudFormation template (plain JSON, no CDK). */

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
}

export function resourcesOf(template: any): Record<string, CfnResourceJson> {
  const resources = template?.Resources;
  return resources && typeof resources === 'object' ? resources : {};
}

/** The logical id a `Ref` or `Fn::GetAtt` points at, if the value is one. */
export function referencedId(value: any): string | undefined {
  if (value && typeof value === 'object') {
    if (typeof value.Ref === 'string') return value.Ref;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    if (typeof getAtt === 'string') return getAtt.split('.')[0];
  }
  return undefined;
}

/** A number from a template value (CloudFormation often writes numbers as strings), or undefined for a token. */
export function numberOf(value: any): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && !isNaN(Number(value))) return Number(value);
  return undefined;
}

export function isTrue(value: any): boolean {
  return value === true || value === 'true';
}
