import * as codebuild from 'aws-cdk-lib/aws-codebuild';

/**
 * The CodeBuild image of every build the library creates (Check, smoke training, image builds), so that the tests of
 * the Check stage run on the same tool versions as the builds they guard.
 */
export const BUILD_IMAGE: codebuild.IBuildImage = codebuild.LinuxBuildImage.STANDARD_8_0;
