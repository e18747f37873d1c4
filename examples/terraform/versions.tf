# Terraform and provider versions of the example.
#
# AWS_ENDPOINT_URL (one endpoint for every service, what `harness run` sets) is honoured by the
# AWS provider 5.x and later: "Environment variables can be used to set all endpoints to one
# value, using AWS_ENDPOINT_URL" (Custom Service Endpoint Configuration guide,
# https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/custom-service-endpoints,
# terraform-provider-aws website/docs/guides/custom-service-endpoints.html.markdown).
terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40, < 7.0"
    }
  }
}
