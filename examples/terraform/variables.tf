# Inputs of the seed tutorial's stack. Names follow examples/stack.toml: {project}-{environment}-...

variable "project" {
  description = "Project name: lowercase letters, digits and '-'. Prefix of every resource name."
  type        = string
  default     = "my-project"

  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.project))
    error_message = "project must be lowercase letters, digits and '-' (e.g. \"my-project\")."
  }
}

variable "environment" {
  description = "Environment name (dev, stg, prod, ...): lowercase letters, digits and '-'."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z0-9-]+$", var.environment))
    error_message = "environment must be lowercase letters, digits and '-' (e.g. \"dev\")."
  }
}

variable "region" {
  description = "AWS region (the tutorial's is ap-northeast-1). `harness run` also sets AWS_REGION."
  type        = string
  default     = "ap-northeast-1"
}

variable "local_endpoint" {
  description = "true: running against the harness or another emulator (skip the credential check, the account id lookup and the EC2 metadata check). Set false for real AWS."
  type        = bool
  default     = true
}

variable "create_service_linked_role" {
  description = <<-EOT
    The seed's fix. false (the tutorial as written): the ECS service-linked role
    AWSServiceRoleForECS is left to CreateCluster, and in a fresh account the first apply fails
    at CreateService with "Unable to assume the service linked role. Please verify that the ECS
    service linked role exists."; a second apply works. true: create the role first
    (aws_iam_service_linked_role) and make the cluster and the service depend on it. Leave it
    false in an account that already has the role (a second CreateServiceLinkedRole is
    InvalidInput "Service role name AWSServiceRoleForECS has been taken in this account").
  EOT
  type        = bool
  default     = false
}

variable "log_retention_in_days" {
  description = "Retention of /ecs/{project}-{environment}; one of CloudWatch Logs' values (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  type        = number
  default     = 14
}

variable "container_image" {
  description = "Image of the task's container. Empty: the stack's ECR repository, tag latest."
  type        = string
  default     = ""
}

variable "container_port" {
  description = "Port the container listens on."
  type        = number
  default     = 80
}

variable "task_cpu" {
  description = "Fargate CPU units of the task (256, 512, 1024, ...)."
  type        = number
  default     = 256
}

variable "task_memory" {
  description = "Memory of the task in MiB, valid for task_cpu (256 -> 512, 1024 or 2048)."
  type        = number
  default     = 512
}

variable "desired_count" {
  description = "Number of tasks the service keeps running."
  type        = number
  default     = 1
}

variable "tags" {
  description = "Extra tags for every resource (Environment is always set)."
  type        = map(string)
  default = {
    Project = "my-project"
  }
}
