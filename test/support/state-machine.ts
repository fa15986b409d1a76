import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
};

/**
 * The synthesized definition of the stack's one state machine (or the one whose logical id starts with the prefix), with its CloudFormation tokens replaced by
 * concrete stand-ins: `Ref`s by the logical id (pseudo parameters by fixed values), `Fn::GetAtt ... Arn` by a
 * Lambda-like ARN naming the logical id. The result is plain Amazon States Language.
 */
export function stateMachineDefinition(stack: Stack, logicalIdPrefix = ''): any {
  const machines = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
  const ids = Object.keys(machines).filter((id) => id.startsWith(logicalIdPrefix));
  if (ids.length !== 1) throw new Error(`expected one state machine whose logical id starts with '${logicalIdPrefix}', found ${ids.length}`);
  const text = render(machines[ids[0]].Properties.DefinitionString);
  return JSON.parse(text);
}

/** Every state machine of the stack, by logical id, rendered as in {@link stateMachineDefinition}. */
export function stateMachineDefinitions(stack: Stack): Record<string, any> {
  const machines = Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine');
  return Object.fromEntries(Object.entries(machines).map(([id, machine]) => [id, JSON.parse(render(machine.Properties.DefinitionString))]));
}

function render(value: any): string {
  if (typeof value === 'string') return value;
  if (value.Ref) return PSEUDO[value.Ref] ?? value.Ref;
  if (value['Fn::GetAtt']) {
    const [id, attr] = value['Fn::GetAtt'];
    return attr === 'Arn' ? `arn:aws:lambda:us-east-1:123456789012:function:${id}` : `${id}.${attr}`;
  }
  if (value['Fn::Join']) {
    const [separator, parts] = value['Fn::Join'];
    return parts.map(render).join(separator);
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}
