# ECR: the application's repository and the policy that lets the execution role pull from it.

resource "aws_ecr_repository" "app" {
  name                 = "${local.name}-app"
  image_tag_mutability = "MUTABLE"
  # Destroy deletes the repository even when it still holds images.
  force_delete = true

  image_scanning_configuration {
    scan_on_push = true
  }

  tags = { Name = "${local.name}-app" }
}

# Naming a role created a moment ago can fail for a while in a fresh account with
# InvalidParameterException "Invalid parameter at 'PolicyText' failed to satisfy constraint:
# 'Principal not found'" (terraform-provider-aws#39064; the harness's iam-propagation model).
resource "aws_ecr_repository_policy" "app" {
  repository = aws_ecr_repository.app.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AllowPullFromExecutionRole"
      Effect    = "Allow"
      Principal = { AWS = aws_iam_role.execution.arn }
      Action = [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
      ]
    }]
  })
}
