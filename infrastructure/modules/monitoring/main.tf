# Run summaries and alarms go to one encrypted SNS topic; alarms watch the function and the queues.

resource "aws_sns_topic" "this" {
  name              = var.name
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "AllowCloudWatchAlarmsFromThisAccount"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this.arn]

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

resource "aws_sns_topic_policy" "this" {
  arn    = aws_sns_topic.this.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

locals {
  alarm_actions = [aws_sns_topic.this.arn]

  # A rule whose target (the encrypted queue) refuses its events - a key policy or queue policy that does
  # not let EventBridge in - drops them: no message anywhere, only these rule metrics (RuleName alone:
  # the default bus). EventBridge publishes both only when they are not zero.
  event_rule_alarms = merge([
    for rule in var.event_rule_names : {
      "${rule}-failed-invocations" = {
        name               = "${rule}-failed-invocations"
        description        = "EventBridge could not deliver events of ${rule} to its target (queue or key policy?): the Fargate tasks' STOPPED events are lost unless they reached the DLQ."
        namespace          = "AWS/Events"
        metric_name        = "FailedInvocations"
        dimensions         = { RuleName = rule }
        statistic          = "Sum"
        evaluation_periods = 1
        threshold          = 0
      }
      "${rule}-dlq-delivery-failed" = {
        name               = "${rule}-dlq-delivery-failed"
        description        = "EventBridge could deliver events of ${rule} neither to its target nor to its dead-letter queue: they are lost."
        namespace          = "AWS/Events"
        metric_name        = "InvocationsFailedToBeSentToDlq"
        dimensions         = { RuleName = rule }
        statistic          = "Sum"
        evaluation_periods = 1
        threshold          = 0
      }
    }
  ]...)

  # One entry per alarm; every alarm notifies the topic and treats missing data as healthy.
  alarms = {
    lambda_errors = {
      name               = "${var.function_name}-errors"
      description        = "The ETL function raised errors (files not processed; see its log group)."
      namespace          = "AWS/Lambda"
      metric_name        = "Errors"
      dimensions         = { FunctionName = var.function_name }
      statistic          = "Sum"
      evaluation_periods = 1
      threshold          = 0
    }
    lambda_throttles = {
      name               = "${var.function_name}-throttles"
      description        = "The ETL function was throttled: reserved concurrency or SQS maximum concurrency is too low."
      namespace          = "AWS/Lambda"
      metric_name        = "Throttles"
      dimensions         = { FunctionName = var.function_name }
      statistic          = "Sum"
      evaluation_periods = 1
      threshold          = 0
    }
    lambda_duration = {
      name               = "${var.function_name}-duration-near-timeout"
      description        = "An ETL run took over ${var.duration_alarm_ratio * 100}% of the function timeout: route large files to Fargate sooner or raise the timeout."
      namespace          = "AWS/Lambda"
      metric_name        = "Duration"
      dimensions         = { FunctionName = var.function_name }
      statistic          = "Maximum"
      evaluation_periods = 1
      threshold          = floor(var.function_timeout_seconds * 1000 * var.duration_alarm_ratio)
    }
    dlq_depth = {
      name               = "${var.dlq_name}-not-empty"
      description        = "Messages reached the dead-letter queue: files that failed every retry."
      namespace          = "AWS/SQS"
      metric_name        = "ApproximateNumberOfMessagesVisible"
      dimensions         = { QueueName = var.dlq_name }
      statistic          = "Maximum"
      evaluation_periods = 1
      threshold          = 0
    }
    queue_age = {
      name               = "${var.queue_name}-oldest-message-age"
      description        = "Uploads wait in the queue longer than ${var.queue_age_threshold_seconds} s: the function is failing, throttled or too slow."
      namespace          = "AWS/SQS"
      metric_name        = "ApproximateAgeOfOldestMessage"
      dimensions         = { QueueName = var.queue_name }
      statistic          = "Maximum"
      evaluation_periods = 2
      threshold          = var.queue_age_threshold_seconds
    }
  }

  all_alarms = merge(local.alarms, local.event_rule_alarms)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.all_alarms

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = each.value.evaluation_periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
