# The network the service runs in: the region's default VPC, its subnets and its default
# security group (as examples/stack.toml does when subnets and security_groups are empty).

data "aws_vpc" "default" {
  default = true
}

data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
}

data "aws_security_group" "default" {
  vpc_id = data.aws_vpc.default.id
  name   = "default"
}
