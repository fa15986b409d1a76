import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CostEstimator, CostReportPlugin, CostTable, SpendBudget } from '../../lib';
import { BUDGETS_PUBLISH } from '../fixtures/aws/budgets';
import { ENCRYPTED_TOPIC_PUBLISHER_KEY_ACTIONS } from '../fixtures/aws/sns';
import { stackFindings } from '../support/compliance';

// The documented pattern, with the partition of the stack (aws in the documented example).
const budgetsArn = {
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, BUDGETS_PUBLISH.value.sourceArnPattern.replace(/^arn:aws/, '').replace('<account-id>', '111122223333')]],
};

function budgetStack(): { stack: Stack; template: Template } {
  const stack = new Stack(new App(), 'Test', { env: { account: '111122223333', region: 'us-east-1' } });
  new SpendBudget(stack, 'Budget', { limitUsd: 50 });
  return { stack, template: Template.fromStack(stack) };
}

describe('SpendBudget', () => {
  test('a monthly cost budget alerts the alerts topic at 80% actual and 100% forecasted', () => {
    const { template } = budgetStack();
    const topic = { Ref: Match.stringLikeRegexp('MlOpsAlertsTopic') };
    template.hasResourceProperties('AWS::Budgets::Budget', {
      Budget: { BudgetType: 'COST', TimeUnit: 'MONTHLY', BudgetLimit: { Amount: 50, Unit: 'USD' } },
      NotificationsWithSubscribers: [
        { Notification: { NotificationType: 'ACTUAL', ComparisonOperator: 'GREATER_THAN', Threshold: 80, ThresholdType: 'PERCENTAGE' }, Subscribers: [{ SubscriptionType: 'SNS', Address: topic }] },
        { Notification: { NotificationType: 'FORECASTED', ComparisonOperator: 'GREATER_THAN', Threshold: 100, ThresholdType: 'PERCENTAGE' }, Subscribers: [{ SubscriptionType: 'SNS', Address: topic }] },
      ],
    });
  });

  test('the topic policy lets AWS Budgets publish for this account\'s budgets only, as the Budgets guide shows', () => {
    const { template } = budgetStack();
    const documentedStatement = BUDGETS_PUBLISH.value;
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow',
          Principal: documentedStatement.principal,
          // IAM action names are case-insensitive: the guide writes SNS:Publish.
          Action: Match.stringLikeRegexp(`^${documentedStatement.action.replace(/^SNS/, 'sns')}$`),
          Condition: {
            StringEquals: { 'aws:SourceAccount': '111122223333' },
            ArnLike: { 'aws:SourceArn': budgetsArn },
          },
        })]),
      },
    });
  });

  test('the encrypted topic\'s key lets AWS Budgets use it, with the same source conditions', () => {
    const { template } = budgetStack();
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Sid: 'BudgetsMayEncrypt',
          Principal: BUDGETS_PUBLISH.value.principal,
          Action: ENCRYPTED_TOPIC_PUBLISHER_KEY_ACTIONS.value.actions,
          Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' }, ArnLike: { 'aws:SourceArn': budgetsArn } },
        })]),
      },
    });
  });

  test('two budgets share the topic and its statements once', () => {
    const stack = new Stack(new App(), 'Test');
    new SpendBudget(stack, 'Monthly', { limitUsd: 50 });
    new SpendBudget(stack, 'Ceiling', { limitUsd: 500, actualThresholdPercent: 100 });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::Budgets::Budget', 2);
    const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0].Properties.PolicyDocument.Statement;
    expect(statements.filter((s: any) => s.Sid === 'BudgetsMayPublish')).toHaveLength(1);
  });

  test.each([
    ['the limit is 0', { limitUsd: 0 }, /limitUsd 0/],
    ['the limit is negative', { limitUsd: -5 }, /limitUsd -5/],
    ['the actual threshold is 0', { limitUsd: 10, actualThresholdPercent: 0 }, /actualThresholdPercent 0/],
    ['the forecasted threshold is above 1000%', { limitUsd: 10, forecastedThresholdPercent: 1001 }, /forecastedThresholdPercent 1001/],
  ])('fails when %s', (_name, props, message) => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new SpendBudget(stack, 'Budget', props)).toThrow(message);
  });

  test('passes all five cdk-nag packs with nothing acknowledged', () => {
    expect(stackFindings((stack) => { new SpendBudget(stack, 'Budget', { limitUsd: 50 }); })).toEqual([]);
  });

  test('its budget (no actions) costs nothing in the estimate', () => {
    const estimate = CostEstimator.fromTemplate(budgetStack().template.toJSON());
    expect(estimate.freeWhileIdle.some((f) => f.resourceType === 'AWS::Budgets::Budget')).toBe(true);
    expect(estimate.idle.filter((i) => i.resourceType === 'AWS::Budgets::Budget')).toEqual([]);
  });
});

describe('CostTable and CostReportPlugin', () => {
  const template = {
    Resources: {
      Key: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } },
      Odd: { Type: 'AWS::Example::Thing', Properties: {} },
    },
  };

  test('the table shows the idle total, each item with its unit price, the unknown and the assumptions', () => {
    const text = CostTable.format(CostEstimator.fromTemplate(template));
    expect(text).toContain('Idle (nothing running, no request served): $1.00 a month ($3.00 once rotated keys have rotated twice)');
    expect(text).toMatch(/Key\s+AWS::KMS::Key\s+1\s+\$1\/month\s+\$1\.00/);
    expect(text).toContain('UNKNOWN (not in any total):\n  Odd (AWS::Example::Thing)');
    expect(text).toContain('Region us-east-1: the template names no region');
  });

  test('the plugin writes the estimate into the cloud assembly during synth and never fails it', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-cost-'));
    try {
      const app = new App({ outdir });
      const stack = new Stack(app, 'Reported');
      new SpendBudget(stack, 'Budget', { limitUsd: 50 });
      new CfnResource(stack, 'Odd', { type: 'AWS::Example::Thing' });
      Validations.of(app).addPlugins(new CostReportPlugin({ print: false }));
      expect(() => app.synth()).not.toThrow();
      const written = JSON.parse(fs.readFileSync(path.join(outdir, 'Reported.cost-estimate.json'), 'utf-8'));
      expect(written.unknown).toEqual([expect.objectContaining({ logicalId: 'Odd' })]);
      expect(fs.readFileSync(path.join(outdir, 'Reported.cost-estimate.txt'), 'utf-8')).toContain('Cost estimate, us-east-1');
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});
