# The same outputs as `provisioner output` (docs/src/provisioner.md).

output "ecs_cluster_id" {
  value = aws_ecs_cluster.this.id
}

output "ecs_cluster_arn" {
  value = aws_ecs_cluster.this.arn
}

output "ecs_execution_role_arn" {
  value = aws_iam_role.execution.arn
}

output "ecs_task_role_arn" {
  value = aws_iam_role.task.arn
}

output "ecr_repository_url" {
  value = aws_ecr_repository.app.repository_url
}

output "ecr_repository_arn" {
  value = aws_ecr_repository.app.arn
}

output "cloudwatch_log_group_name" {
  value = aws_cloudwatch_log_group.app.name
}

output "cloudwatch_log_group_arn" {
  value = aws_cloudwatch_log_group.app.arn
}

output "ecs_service_arn" {
  # aws_ecs_service's id is the service's ARN.
  value = aws_ecs_service.app.id
}

output "service_linked_role_arn" {
  value = local.service_linked_role_arn
}
