# IAM: the task execution role, the task role and (behind create_service_linked_role) the ECS
# service-linked role.

# Pulls the image from ECR and writes the container's logs: AWS's managed policy for it
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html).
resource "aws_iam_role" "execution" {
  name               = "${local.name}-ecs-execution-role"
  assume_role_policy = local.ecs_tasks_trust
  tags               = { Name = "${local.name}-ecs-execution-role" }
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# What the application itself runs as: it may write to its own log group only.
resource "aws_iam_role" "task" {
  name               = "${local.name}-ecs-task-role"
  assume_role_policy = local.ecs_tasks_trust
  tags               = { Name = "${local.name}-ecs-task-role" }
}

resource "aws_iam_role_policy" "task" {
  name = "${local.name}-ecs-task-policy"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid    = "AppLogs"
      Effect = "Allow"
      Action = ["logs:CreateLogStream", "logs:PutLogEvents"]
      # The group's ARN (provider 5.x: without the trailing ":*") and its streams.
      Resource = [
        aws_cloudwatch_log_group.app.arn,
        "${aws_cloudwatch_log_group.app.arn}:*",
      ]
    }]
  })
}

# The seed's fix. CreateCluster creates AWSServiceRoleForECS itself in an account without it,
# but the role is not usable at once: a CreateService right after fails with
# InvalidParameterException "Unable to assume the service linked role. Please verify that the
# ECS service linked role exists."
# (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html;
# terraform-provider-aws internal/service/ecs/service.go retries exactly that message).
# Creating the role first, and making the cluster and the service depend on it, orders the
# calls so ECS finds the role. The provider's create waits until the role is readable
# (terraform-provider-aws internal/service/iam/service_linked_role.go).
resource "aws_iam_service_linked_role" "ecs" {
  count            = var.create_service_linked_role ? 1 : 0
  aws_service_name = "ecs.amazonaws.com"
}

locals {
  # The role's ARN whoever created it (this stack, or CreateCluster): its name and path are
  # fixed by AWS, the account and partition are the execution role's.
  arn_parts = split(":", aws_iam_role.execution.arn)
  service_linked_role_arn = coalesce(
    one(aws_iam_service_linked_role.ecs[*].arn),
    "arn:${local.arn_parts[1]}:iam::${local.arn_parts[4]}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
  )
}
