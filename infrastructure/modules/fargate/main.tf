# Scale-out path: files too large for one Lambda run are processed by a Fargate task that runs the
# same image. The Lambda supplies the command at RunTask time: etl.aws.events.task_command gives
# ["python", "-m", "etl.handler", "--bucket", B, "--key", K (, "--version-id", V)(, "--etag", E), "--attempt", N].

data "aws_region" "current" {}

locals {
  container_name = "etl"
}

resource "aws_ecs_cluster" "this" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  # Fargate encrypts task ephemeral storage (AES-256, AWS-owned key) by default. A customer key here
  # would also need Fargate-specific grants in the key policy, so it is left at the default.

  tags = var.tags
}

# RunTask of a Fargate task (awsvpc) needs ECS's service-linked role; bootstrap/ makes it once per account.
# A warning, not an error, when it is missing: CreateCluster would still try to create it.
check "ecs_service_linked_role_exists" {
  data "aws_iam_role" "ecs_service_linked_role" {
    name = "AWSServiceRoleForECS"
  }

  assert {
    condition     = data.aws_iam_role.ecs_service_linked_role.path == "/aws-service-role/ecs.amazonaws.com/"
    error_message = "The account has no ECS service-linked role AWSServiceRoleForECS: apply bootstrap/ (create_ecs_service_linked_role = true) before this stack, or the Fargate tasks cannot start."
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

resource "aws_cloudwatch_log_group" "task" {
  name              = "/aws/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

# Task role: what the ETL code may do; the same managed data policy as the Lambda's role.
resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  description        = "Runtime role of the Fargate ETL task."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "task_data_access" {
  role       = aws_iam_role.task.name
  policy_arn = var.data_access_policy_arn
}

# Execution role: what ECS needs to start the task (pull the image, write its logs).
resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  description        = "ECS agent role of the Fargate ETL task: image pull and logs."
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "PullEtlImage"
    effect    = "Allow"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [var.ecr_repository_arn]
  }

  statement {
    sid       = "DecryptImageLayers"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "WriteTaskLogs"
    effect    = "Allow"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.task.arn}:*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-write-logs"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# A deploy changes the image, which replaces this resource: a new revision. skip_destroy keeps the old one
# registered instead of deregistering it first (Terraform's default destroy-then-create): until the
# function's environment names the new revision (ETL_FARGATE_TASK_DEFINITION = this ARN, with its revision),
# it hands large files to the old one, and a deregistered (INACTIVE) revision cannot be run. Old revisions
# cost nothing; the deploy role cannot deregister them (docs/deployment.md: cleaning up revisions).
resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  skip_destroy             = true
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory_mb)
  task_role_arn            = aws_iam_role.task.arn
  execution_role_arn       = aws_iam_role.execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_gib
  }

  # Scratch space for the read-only root file system.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = local.container_name
      image                  = var.image_uri
      essential              = true
      readonlyRootFilesystem = true
      privileged             = false
      # The image's entry point is the Lambda runtime's, so it is replaced by /usr/bin/env, which runs
      # the command RunTask supplies as it is: ["python", "-m", "etl.handler", "--bucket", B, "--key", K,
      # ...] (etl.aws.events.task_command). No `command` here: a task started without that override has
      # nothing to do. python is the image's /var/lang/bin/python (on PATH) and `-m` finds the etl
      # package and its dependencies in the working directory, the image's LAMBDA_TASK_ROOT.
      entryPoint       = ["/usr/bin/env"]
      workingDirectory = "/var/task"
      environment      = [for key in sort(keys(var.environment)) : { name = key, value = var.environment[key] }]
      mountPoints      = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.task.name
          awslogs-region        = data.aws_region.current.name
          awslogs-stream-prefix = "etl"
        }
      }
    }
  ])

  tags = var.tags
}

# The function acknowledges an object's message once RunTask succeeds, so the task's end comes back as a
# message of its own: every STOPPED event of the tasks it started goes to its queue. A task that did not
# finish (exit 75, killed, never started) is run again as its next attempt, up to ETL_FARGATE_MAX_ATTEMPTS
# runs; then the event's message fails until SQS moves it to the DLQ, whose alarm pages someone.
resource "aws_cloudwatch_event_rule" "task_stopped" {
  name        = "${var.name}-task-stopped"
  description = "STOPPED events of the ETL's Fargate tasks, to the function's queue (retry or dead-letter)."
  event_pattern = jsonencode({
    source        = ["aws.ecs"]
    "detail-type" = ["ECS Task State Change"]
    detail = {
      clusterArn = [aws_ecs_cluster.this.arn]
      lastStatus = ["STOPPED"]
      startedBy  = [var.started_by]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "task_stopped" {
  rule      = aws_cloudwatch_event_rule.task_stopped.name
  target_id = "etl-queue"
  arn       = var.task_events_queue_arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = var.task_events_dead_letter_arn
  }
}
