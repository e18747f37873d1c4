# The AWS provider, set up so that it works against the harness (and any other local endpoint)
# as well as against real AWS.
#
# Against the harness, `harness run -- terraform apply` puts everything in the environment:
# AWS_ENDPOINT_URL (the fault proxy; every service's endpoint, read by provider >= 5.x),
# AWS_ACCESS_KEY_ID (12 digits: a fresh account each run), AWS_SECRET_ACCESS_KEY and
# AWS_REGION. Nothing here names an endpoint, so the same files run against real AWS with
# `-var local_endpoint=false` and your usual credentials.
provider "aws" {
  region = var.region

  # An emulator has no STS credential check worth making, no account lookup and no EC2
  # instance metadata service (Custom Service Endpoint Configuration guide, "LocalStack":
  # https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/custom-service-endpoints#localstack).
  # Nothing in this stack needs the provider to know the account id: ARNs come from the
  # resources themselves. No S3 bucket is used, so s3_use_path_style is not needed.
  skip_credentials_validation = var.local_endpoint
  skip_requesting_account_id  = var.local_endpoint
  skip_metadata_api_check     = var.local_endpoint

  default_tags {
    tags = merge(var.tags, {
      Environment = var.environment
    })
  }
}
