# CloudWatch Logs: the group the containers write to.

resource "aws_cloudwatch_log_group" "app" {
  name              = "/ecs/${local.name}"
  retention_in_days = var.log_retention_in_days
  tags              = { Name = "/ecs/${local.name}" }
}
