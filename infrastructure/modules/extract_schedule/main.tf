# Scheduled `etl extract`: EventBridge Scheduler runs each configured extraction in the same image, in the
# function (payload {"etl": "extract", "names": [NAME]}, etl.aws.scheduled) or, for big pulls, in the
# Fargate task (command python -m etl.handler extract NAME). The files land under the raw bucket's
# incoming/<source>/<NAME>/, whose notifications load them like uploads.
#
# The root module instantiates this only when at least one extraction is configured.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  by_name   = { for extraction in var.extractions : extraction.name => extraction }
  on_lambda = [for extraction in var.extractions : extraction.name if extraction.target == "lambda"]
  on_ecs    = [for extraction in var.extractions : extraction.name if extraction.target == "fargate"]
  # Without a revision: RunTask starts the family's latest ACTIVE revision, which is the one the last deploy
  # registered; a revision ARN here would make every deploy change the schedules (the deploy role may not).
  task_family_arn = "arn:${local.partition}:ecs:${local.region}:${var.account_id}:task-definition/${var.task_family}"
}

# ---- delivery: the role, the retries and the dead-letter queue ------------------------------------------------

resource "aws_sqs_queue" "dlq" {
  name                              = "${var.name}-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

data "aws_iam_policy_document" "assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${var.name}-scheduler"
  description        = "EventBridge Scheduler: runs the scheduled extractions (the ETL function or its Fargate task)."
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "scheduler" {
  dynamic "statement" {
    for_each = length(local.on_lambda) > 0 ? [1] : []
    content {
      sid       = "InvokeEtlFunction"
      effect    = "Allow"
      actions   = ["lambda:InvokeFunction"]
      resources = [var.function_arn, "${var.function_arn}:*"]
    }
  }

  dynamic "statement" {
    for_each = length(local.on_ecs) > 0 ? [1] : []
    content {
      sid       = "RunEtlTask"
      effect    = "Allow"
      actions   = ["ecs:RunTask"]
      resources = [local.task_family_arn, "${local.task_family_arn}:*"]

      condition {
        test     = "ArnEquals"
        variable = "ecs:cluster"
        values   = [var.cluster_arn]
      }
    }
  }

  dynamic "statement" {
    for_each = length(local.on_ecs) > 0 ? [1] : []
    content {
      sid       = "PassEtlTaskRoles"
      effect    = "Allow"
      actions   = ["iam:PassRole"]
      resources = var.fargate_role_arns

      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["ecs-tasks.amazonaws.com"]
      }
    }
  }

  statement {
    sid       = "SendToDeadLetterQueue"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  statement {
    sid       = "UseDeadLetterQueueKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "run-extractions"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

# ---- the schedules ---------------------------------------------------------------------------------------------

# A group of their own: the AWS/Scheduler metrics the alarms read have the dimension ScheduleGroup.
resource "aws_scheduler_schedule_group" "this" {
  name = var.name
  tags = var.tags
}

resource "aws_scheduler_schedule" "this" {
  #checkov:skip=CKV_AWS_297:The payload is an extraction's name (no secret: the URL is read from Secrets Manager at run time); a customer managed key here would need key-policy grants for every principal that creates or reads schedules.
  for_each = local.by_name

  name                         = "${var.name}-${each.key}"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = "etl extract ${each.key} (${each.value.target})"
  schedule_expression          = each.value.schedule_expression
  schedule_expression_timezone = each.value.timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = each.value.target == "lambda" ? var.function_arn : var.cluster_arn
    role_arn = aws_iam_role.scheduler.arn
    # Lambda: the function's event (etl.aws.scheduled). ECS: the RunTask overrides; the command is
    # etl.aws.scheduled.extract_command's.
    input = each.value.target == "lambda" ? jsonencode({ etl = "extract", names = [each.key] }) : jsonencode({
      containerOverrides = [{ name = var.container_name, command = ["python", "-m", "etl.handler", "extract", each.key] }]
    })

    # Scheduler retries a delivery it could not make (throttled, RunTask refused); the function's own
    # failures are retried by Lambda's asynchronous invocation and end in the function's dead-letter queue.
    retry_policy {
      maximum_retry_attempts       = var.maximum_retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_seconds
    }

    dead_letter_config {
      arn = aws_sqs_queue.dlq.arn
    }

    dynamic "ecs_parameters" {
      for_each = each.value.target == "fargate" ? [1] : []
      content {
        task_definition_arn = local.task_family_arn
        launch_type         = "FARGATE"
        task_count          = 1

        network_configuration {
          subnets          = var.subnet_ids
          security_groups  = var.security_group_ids
          assign_public_ip = false
        }
      }
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}

# ---- what the extraction itself may do (attached to the function's and the task's roles) ------------------

data "aws_iam_policy_document" "extract" {
  # Only the scheduled extractions' own folders: incoming/<any source>/<name>/. The upload is one object
  # (multipart for a big file); a pending increment a wider one replaces is deleted.
  statement {
    sid       = "WriteExtractedFiles"
    effect    = "Allow"
    actions   = ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]
    resources = [for name in keys(local.by_name) : "${var.raw_bucket_arn}/${var.raw_prefix}*/${name}/*"]
  }

  dynamic "statement" {
    for_each = var.source_database_secret_arn == null ? [] : [var.source_database_secret_arn]
    content {
      sid       = "ReadSourceDatabaseSecret"
      effect    = "Allow"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.source_database_secret_arn == null || var.source_database_secret_kms_key_arn == null ? [] : [var.source_database_secret_kms_key_arn]
    content {
      sid       = "DecryptSourceDatabaseSecret"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_policy" "extract" {
  name        = "${var.name}-runs"
  description = "What a scheduled extraction may do: write its folders under the raw bucket's incoming/ and read the source database's secret."
  policy      = data.aws_iam_policy_document.extract.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "extract" {
  for_each = toset(var.etl_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.extract.arn
}

# ---- the network path to the source database -------------------------------------------------------------------
# Both sides, as security groups need: the ETL's group allows no egress but to the endpoints, S3 and Redshift,
# so it gets egress to the database's group on its port; the database's group gets the matching ingress from
# the ETL's group (source_database_ingress = false when another stack owns that group's rules: add the same
# rule there). Group references, not CIDRs: only the ETL's ENIs may connect. The groups must be in this VPC
# or a peered one in the same region.

resource "aws_vpc_security_group_egress_rule" "workload_to_source_database" {
  count = var.source_database_security_group_id == null ? 0 : 1

  security_group_id            = var.workload_security_group_id
  description                  = "Scheduled extraction: the source database"
  ip_protocol                  = "tcp"
  from_port                    = var.source_database_port
  to_port                      = var.source_database_port
  referenced_security_group_id = var.source_database_security_group_id
}

resource "aws_vpc_security_group_ingress_rule" "source_database_from_workload" {
  count = var.source_database_security_group_id != null && var.source_database_ingress ? 1 : 0

  security_group_id            = var.source_database_security_group_id
  description                  = "Scheduled extraction of the credit-risk ETL (its Lambda function and Fargate tasks)"
  ip_protocol                  = "tcp"
  from_port                    = var.source_database_port
  to_port                      = var.source_database_port
  referenced_security_group_id = var.workload_security_group_id
}
