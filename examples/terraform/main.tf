# The seed tutorial's ECS stack as Terraform (see README.md here): one file per concern.
#
#   providers.tf  the AWS provider, usable against the harness (AWS_ENDPOINT_URL) and real AWS
#   variables.tf  project, environment, region, create_service_linked_role (the seed's fix), ...
#   iam.tf        execution role, task role + inline policy, the ECS service-linked role
#   ecr.tf        repository (scan on push, force_delete) + pull policy for the execution role
#   logs.tf       /ecs/{project}-{environment}, 14 days
#   network.tf    the default VPC's subnets and default security group
#   ecs.tf        cluster (FARGATE/FARGATE_SPOT, Container Insights), task definition, service
#   outputs.tf    the outputs `provisioner output` prints
#
# Resource names are those of examples/stack.toml: {project}-{environment}-cluster,
# -ecs-execution-role, -ecs-task-role (-ecs-task-policy), -app (repository and task family),
# -service, and the log group /ecs/{project}-{environment}.

locals {
  name = "${var.project}-${var.environment}"

  # Both task roles are assumed by ECS tasks.
  ecs_tasks_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}
