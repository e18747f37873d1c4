#!/usr/bin/env bash
# The seed tutorial's ECS stack built with the AWS CLI, the way a user writes it: log group,
# execution and task roles, ECR repository and pull policy, task definition, cluster with
# FARGATE/FARGATE_SPOT and Container Insights, service. Each create is skipped when its resource
# exists, so running it again in the same account finishes what a failed run left.
#
#   seed_tutorial.sh                                 the tutorial as written: in a fresh account
#                                                    create-service fails with "Unable to assume
#                                                    the service linked role"; run it again later
#   seed_tutorial.sh --create-service-linked-role    the seed's fix: create AWSServiceRoleForECS
#                                                    first and wait until get-role sees it
#
# It talks to whatever the environment names: `harness run -- bash seed_tutorial.sh` sets
# AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID (a fresh account), AWS_SECRET_ACCESS_KEY and AWS_REGION.
# PROJECT (my-project) and ENVIRONMENT (dev) name the stack as examples/stack.toml does;
# SLR_WAIT_SECONDS (120) bounds the wait for the role. Every step prints `==> step`.
set -euo pipefail

PROJECT=${PROJECT:-my-project}
ENVIRONMENT=${ENVIRONMENT:-dev}
REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-ap-northeast-1}}
SLR_WAIT_SECONDS=${SLR_WAIT_SECONDS:-120}
NAME="$PROJECT-$ENVIRONMENT"
export AWS_DEFAULT_REGION="$REGION"

FIX=false
case "${1:-}" in
  --create-service-linked-role) FIX=true ;;
  "") ;;
  *)
    echo "seed_tutorial.sh: unknown argument '$1'; usage: seed_tutorial.sh [--create-service-linked-role]" >&2
    exit 2
    ;;
esac
command -v aws >/dev/null || { echo "seed_tutorial.sh: no 'aws' on PATH (pip install awscli)" >&2; exit 2; }

step() { echo "==> $*"; }
# True when the read-only command succeeds (the resource exists); its output is not wanted.
exists() { "$@" >/dev/null 2>&1; }

TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
SLR=AWSServiceRoleForECS

# --- IAM: the execution role, with AWS's managed policy for pulling images and writing logs ---
EXECUTION_ROLE="$NAME-ecs-execution-role"
if EXECUTION_ROLE_ARN=$(aws iam get-role --role-name "$EXECUTION_ROLE" --query Role.Arn --output text 2>/dev/null); then
  step "role $EXECUTION_ROLE exists"
else
  step "create-role $EXECUTION_ROLE"
  EXECUTION_ROLE_ARN=$(aws iam create-role --role-name "$EXECUTION_ROLE" --assume-role-policy-document "$TRUST" \
    --tags "Key=Name,Value=$EXECUTION_ROLE" "Key=Environment,Value=$ENVIRONMENT" --query Role.Arn --output text)
fi
step "attach-role-policy AmazonECSTaskExecutionRolePolicy"
aws iam attach-role-policy --role-name "$EXECUTION_ROLE" \
  --policy-arn arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy
ACCOUNT=$(cut -d: -f5 <<<"$EXECUTION_ROLE_ARN")

# --- CloudWatch Logs: /ecs/{project}-{env}, 14 days ------------------------------------------
LOG_GROUP="/ecs/$NAME"
GROUP_ARN="arn:aws:logs:$REGION:$ACCOUNT:log-group:$LOG_GROUP"
if [ "$(aws logs describe-log-groups --log-group-name-prefix "$LOG_GROUP" \
  --query "length(logGroups[?logGroupName=='$LOG_GROUP'])" --output text)" != 0 ]; then
  step "log group $LOG_GROUP exists"
else
  step "create-log-group $LOG_GROUP"
  aws logs create-log-group --log-group-name "$LOG_GROUP" --tags "Name=$LOG_GROUP,Environment=$ENVIRONMENT"
fi
step "put-retention-policy $LOG_GROUP 14"
aws logs put-retention-policy --log-group-name "$LOG_GROUP" --retention-in-days 14

# --- IAM: the task role, allowed to write to the log group (its ARN and its streams) ---------
TASK_ROLE="$NAME-ecs-task-role"
if TASK_ROLE_ARN=$(aws iam get-role --role-name "$TASK_ROLE" --query Role.Arn --output text 2>/dev/null); then
  step "role $TASK_ROLE exists"
else
  step "create-role $TASK_ROLE"
  TASK_ROLE_ARN=$(aws iam create-role --role-name "$TASK_ROLE" --assume-role-policy-document "$TRUST" \
    --tags "Key=Name,Value=$TASK_ROLE" "Key=Environment,Value=$ENVIRONMENT" --query Role.Arn --output text)
fi
step "put-role-policy $NAME-ecs-task-policy"
aws iam put-role-policy --role-name "$TASK_ROLE" --policy-name "$NAME-ecs-task-policy" \
  --policy-document "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AppLogs\",\"Effect\":\"Allow\",\"Action\":[\"logs:CreateLogStream\",\"logs:PutLogEvents\"],\"Resource\":[\"$GROUP_ARN\",\"$GROUP_ARN:*\"]}]}"

# --- ECR: repository (scan on push) and the execution role's pull policy ---------------------
REPOSITORY="$NAME-app"
if REPOSITORY_URI=$(aws ecr describe-repositories --repository-names "$REPOSITORY" \
  --query 'repositories[0].repositoryUri' --output text 2>/dev/null); then
  step "repository $REPOSITORY exists"
else
  step "create-repository $REPOSITORY"
  REPOSITORY_URI=$(aws ecr create-repository --repository-name "$REPOSITORY" --image-tag-mutability MUTABLE \
    --image-scanning-configuration scanOnPush=true \
    --tags "Key=Name,Value=$REPOSITORY" "Key=Environment,Value=$ENVIRONMENT" \
    --query 'repository.repositoryUri' --output text)
fi
step "set-repository-policy $REPOSITORY"
aws ecr set-repository-policy --repository-name "$REPOSITORY" \
  --policy-text "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowPullFromExecutionRole\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"$EXECUTION_ROLE_ARN\"},\"Action\":[\"ecr:BatchCheckLayerAvailability\",\"ecr:BatchGetImage\",\"ecr:GetDownloadUrlForLayer\"]}]}" >/dev/null

# --- ECS task definition (Fargate, awsvpc, awslogs) ------------------------------------------
FAMILY="$NAME-app"
step "register-task-definition $FAMILY"
aws ecs register-task-definition --family "$FAMILY" --requires-compatibilities FARGATE \
  --network-mode awsvpc --cpu 256 --memory 512 \
  --execution-role-arn "$EXECUTION_ROLE_ARN" --task-role-arn "$TASK_ROLE_ARN" \
  --container-definitions "[{\"name\":\"app\",\"image\":\"$REPOSITORY_URI:latest\",\"essential\":true,\"portMappings\":[{\"containerPort\":80,\"protocol\":\"tcp\"}],\"environment\":[{\"name\":\"APP_ENV\",\"value\":\"$ENVIRONMENT\"}],\"logConfiguration\":{\"logDriver\":\"awslogs\",\"options\":{\"awslogs-group\":\"$LOG_GROUP\",\"awslogs-region\":\"$REGION\",\"awslogs-stream-prefix\":\"ecs\"}}}]" \
  >/dev/null

# --- Network: the default VPC's subnets and default security group ---------------------------
VPC=$(aws ec2 describe-vpcs --filters Name=is-default,Values=true --query 'Vpcs[0].VpcId' --output text)
SUBNETS=$(aws ec2 describe-subnets --filters "Name=vpc-id,Values=$VPC" --query 'Subnets[].SubnetId' --output text | tr -s '\t ' ',')
SECURITY_GROUP=$(aws ec2 describe-security-groups \
  --filters "Name=vpc-id,Values=$VPC" Name=group-name,Values=default \
  --query 'SecurityGroups[0].GroupId' --output text)
step "network: $VPC subnets $SUBNETS security group $SECURITY_GROUP"

# --- The seed's fix: the service-linked role first, and wait until IAM shows it --------------
if [ "$FIX" = true ]; then
  if exists aws iam get-role --role-name "$SLR"; then
    step "role $SLR exists"
  else
    step "create-service-linked-role ecs.amazonaws.com"
    aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com >/dev/null
    step "wait until get-role $SLR succeeds (at most ${SLR_WAIT_SECONDS}s)"
    deadline=$((SECONDS + SLR_WAIT_SECONDS))
    until exists aws iam get-role --role-name "$SLR"; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        echo "seed_tutorial.sh: $SLR still not readable after ${SLR_WAIT_SECONDS}s" >&2
        exit 1
      fi
      sleep 1
    done
  fi
fi

# --- ECS cluster (FARGATE/FARGATE_SPOT, default strategy FARGATE base 1 weight 100) and the
# --- service: in a fresh account, CreateService right after CreateCluster is the seed's failure
CLUSTER="$NAME-cluster"
SERVICE="$NAME-service"
create_service() {
  step "create-service $SERVICE"
  aws ecs create-service --cluster "$CLUSTER" --service-name "$SERVICE" \
    --task-definition "$FAMILY" --desired-count 1 \
    --capacity-provider-strategy capacityProvider=FARGATE,base=1,weight=100 \
    --network-configuration "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUP],assignPublicIp=ENABLED}" \
    --tags "key=Name,value=$SERVICE" "key=Environment,value=$ENVIRONMENT" >/dev/null
}
if [ "$(aws ecs describe-clusters --clusters "$CLUSTER" --query "length(clusters[?status=='ACTIVE'])" --output text)" != 0 ]; then
  step "cluster $CLUSTER exists"
  if [ "$(aws ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --query "length(services[?status=='ACTIVE'])" --output text)" != 0 ]; then
    step "service $SERVICE exists"
  else
    create_service
  fi
else
  step "create-cluster $CLUSTER"
  aws ecs create-cluster --cluster-name "$CLUSTER" \
    --capacity-providers FARGATE FARGATE_SPOT \
    --default-capacity-provider-strategy capacityProvider=FARGATE,base=1,weight=100 \
    --settings name=containerInsights,value=enabled \
    --tags "key=Name,value=$CLUSTER" "key=Environment,value=$ENVIRONMENT" >/dev/null
  create_service
fi

step "done: cluster $CLUSTER, service $SERVICE, repository $REPOSITORY_URI, log group $LOG_GROUP"
