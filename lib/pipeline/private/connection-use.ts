import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * Both service prefixes of `UseConnection`: IAM matches the action's prefix to the connection ARN's, and connections
 * created since July 2024 have `arn:aws:codeconnections:` ARNs, older ones `arn:aws:codestar-connections:` (Developer
 * Tools console user guide, "Connections rename - Summary of changes"). aws-cdk-lib grants only the old one.
 */
export const USE_CONNECTION_ACTIONS = ['codeconnections:UseConnection', 'codestar-connections:UseConnection'];

function useConnection(connectionArn: string): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions: USE_CONNECTION_ACTIONS, resources: [connectionArn] });
}

/** aws-cdk-lib's CodeConnections source action, whose role may use a connection of either ARN form. */
export class ConnectionSourceAction extends actions.CodeStarConnectionsSourceAction {
  constructor(private readonly sourceProps: actions.CodeStarConnectionsSourceActionProps) {
    super(sourceProps);
  }

  protected bound(scope: Construct, stage: codepipeline.IStage, options: codepipeline.ActionBindOptions): codepipeline.ActionConfig {
    const config = super.bound(scope, stage, options);
    options.role.addToPrincipalPolicy(useConnection(this.sourceProps.connectionArn));
    return config;
  }
}

/**
 * Lets every CodeBuild project of the pipeline that takes `source` as input use the connection: with a full clone
 * (`CODEBUILD_CLONE_REF`) the build clones the repository itself, through the connection.
 */
export function grantConnectionToClones(pipeline: codepipeline.Pipeline, source: codepipeline.Artifact, connectionArn: string): void {
  for (const stage of pipeline.stages) {
    for (const action of stage.actions) {
      const project = action.actionProperties.resource;
      const takesSource = (action.actionProperties.inputs ?? []).some((input) => input.artifactName === source.artifactName);
      if (takesSource && isProject(project)) project.addToRolePolicy(useConnection(connectionArn));
    }
  }
}

function isProject(resource: unknown): resource is codebuild.IProject {
  return resource instanceof codebuild.Project || (typeof resource === 'object' && resource !== null && 'projectArn' in resource && 'addToRolePolicy' in resource);
}
