import { Stack, Token } from 'aws-cdk-lib';
import * as budgets from 'aws-cdk-lib/aws-budgets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { alertsTopic } from '../private/alerts-topic';
import { MlOpsValidationError } from '../private/validation';

/** The highest alert threshold accepted: an alert at more than ten times the limit is most likely a typo. */
const MAX_THRESHOLD_PERCENT = 1000;

/** Topics that already let AWS Budgets publish: several budgets share one topic, and a policy needs unique Sids. */
const OPEN_TO_BUDGETS = new WeakSet<sns.ITopic>();

export interface SpendBudgetProps {
  /** The monthly cost limit, in US dollars. */
  readonly limitUsd: number;
  /**
   * Alert when the actual cost of the month passes this percentage of the limit.
   * @default 80
   */
  readonly actualThresholdPercent?: number;
  /**
   * Alert when the cost forecast for the month passes this percentage of the limit.
   * @default 100
   */
  readonly forecastedThresholdPercent?: number;
  /**
   * The topic the alerts go to.
   * @default - the stack's cdk-mlops alerts topic
   */
  readonly topic?: sns.ITopic;
  /**
   * The budget's name (unique in the account).
   * @default - a name CloudFormation generates
   */
  readonly budgetName?: string;
}

/**
 * A guard against runaway spend: a monthly AWS Budgets cost budget of the whole account that alerts the alerts topic
 * when the month's actual cost passes a share of the limit and when the forecast passes the limit. The first two
 * budgets of an account are free. It alerts; it stops nothing.
 */
export class SpendBudget extends Construct {
  /** The topic the alerts go to. */
  public readonly topic: sns.ITopic;

  constructor(scope: Construct, id: string, props: SpendBudgetProps) {
    super(scope, id);
    const actual = props.actualThresholdPercent ?? 80;
    const forecasted = props.forecastedThresholdPercent ?? 100;
    if (!Token.isUnresolved(props.limitUsd) && !(props.limitUsd > 0 && Number.isFinite(props.limitUsd))) {
      throw new MlOpsValidationError(this, 'SpendBudget', 'limitUsd', props.limitUsd, 'Give the monthly limit in US dollars, more than 0.');
    }
    for (const [prop, value] of [['actualThresholdPercent', actual], ['forecastedThresholdPercent', forecasted]] as const) {
      if (!Token.isUnresolved(value) && !(value > 0 && value <= MAX_THRESHOLD_PERCENT)) {
        throw new MlOpsValidationError(this, 'SpendBudget', prop, value,
          `Give a percentage of the limit above 0 and at most ${MAX_THRESHOLD_PERCENT} (for example 80).`);
      }
    }

    this.topic = props.topic ?? alertsTopic(this);
    this.allowBudgetsToPublish(this.topic);

    const subscribers = [{ subscriptionType: 'SNS', address: this.topic.topicArn }];
    const notification = (notificationType: string, threshold: number) => ({
      notification: { notificationType, comparisonOperator: 'GREATER_THAN', threshold, thresholdType: 'PERCENTAGE' },
      subscribers,
    });
    new budgets.CfnBudget(this, 'Resource', {
      budget: {
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: props.limitUsd, unit: 'USD' },
        ...(props.budgetName ? { budgetName: props.budgetName } : {}),
      },
      notificationsWithSubscribers: [notification('ACTUAL', actual), notification('FORECASTED', forecasted)],
    });
  }

  /**
   * AWS Budgets publishes only where the topic policy lets budgets.amazonaws.com, scoped to this account's budgets
   * (Cost Management user guide, "Creating an Amazon SNS topic for budget notifications"); an encrypted topic's key
   * must let the publishing service use it (SNS developer guide, "Key management").
   */
  private allowBudgetsToPublish(topic: sns.ITopic): void {
    if (OPEN_TO_BUDGETS.has(topic)) return;
    OPEN_TO_BUDGETS.add(topic);
    const stack = Stack.of(this);
    const budgetsOfThisAccount = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:budgets::${stack.account}:*` },
    };
    const principal = new iam.ServicePrincipal('budgets.amazonaws.com');
    topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'BudgetsMayPublish',
      principals: [principal],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: budgetsOfThisAccount,
    }));
    topic.masterKey?.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'BudgetsMayEncrypt',
      principals: [principal],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: budgetsOfThisAccount,
    }));
  }
}
