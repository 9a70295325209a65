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
  alarm_actions     = [aws_sns_topic.this.arn]
  alarm_name_prefix = coalesce(var.alarm_name_prefix, var.name)

  # Missing data is decided per alarm (treat_missing_data), never by default:
  # - "notBreaching" where no data means nothing happened: Lambda publishes Errors, Throttles and Duration
  #   only for invocations; SQS publishes for a queue only while it is active (a queue holding messages
  #   is active); EventBridge publishes FailedInvocations and InvocationsFailedToBeSentToDlq only when
  #   they are not zero; the ETL emits DataTestFailures only for a run. Silence there is not a failure,
  #   and the freshness alarms below are what notice that nothing runs.
  # - "breaching" for freshness: no FilesLoaded of a source for N hours is exactly the failure watched.

  # A rule whose target (the encrypted queue) refuses its events - a key policy or queue policy that does
  # not let EventBridge in - drops them: no message anywhere, only these rule metrics (RuleName alone:
  # the default bus).
  event_rule_alarms = merge([
    for rule in var.event_rule_names : {
      "${rule}-failed-invocations" = {
        name                = "${rule}-failed-invocations"
        description         = "EventBridge could not deliver events of ${rule} to its target (queue or key policy?): the Fargate tasks' STOPPED events are lost unless they reached the DLQ."
        namespace           = "AWS/Events"
        metric_name         = "FailedInvocations"
        dimensions          = { RuleName = rule }
        statistic           = "Sum"
        period              = 300
        evaluation_periods  = 1
        datapoints_to_alarm = 1
        comparison_operator = "GreaterThanThreshold"
        threshold           = 0
        treat_missing_data  = "notBreaching"
      }
      "${rule}-dlq-delivery-failed" = {
        name                = "${rule}-dlq-delivery-failed"
        description         = "EventBridge could deliver events of ${rule} neither to its target nor to its dead-letter queue: they are lost."
        namespace           = "AWS/Events"
        metric_name         = "InvocationsFailedToBeSentToDlq"
        dimensions          = { RuleName = rule }
        statistic           = "Sum"
        period              = 300
        evaluation_periods  = 1
        datapoints_to_alarm = 1
        comparison_operator = "GreaterThanThreshold"
        threshold           = 0
        treat_missing_data  = "notBreaching"
      }
    }
  ]...)

  alarms = {
    lambda_errors = {
      name                = "${var.function_name}-errors"
      description         = "The ETL function raised errors (files not processed; see its log group)."
      namespace           = "AWS/Lambda"
      metric_name         = "Errors"
      dimensions          = { FunctionName = var.function_name }
      statistic           = "Sum"
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      treat_missing_data  = "notBreaching"
    }
    lambda_throttles = {
      name                = "${var.function_name}-throttles"
      description         = "The ETL function was throttled: reserved concurrency or SQS maximum concurrency is too low."
      namespace           = "AWS/Lambda"
      metric_name         = "Throttles"
      dimensions          = { FunctionName = var.function_name }
      statistic           = "Sum"
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      treat_missing_data  = "notBreaching"
    }
    lambda_duration = {
      name                = "${var.function_name}-duration-near-timeout"
      description         = "An ETL run took over ${var.duration_alarm_ratio * 100}% of the function timeout: route large files to Fargate sooner or raise the timeout."
      namespace           = "AWS/Lambda"
      metric_name         = "Duration"
      dimensions          = { FunctionName = var.function_name }
      statistic           = "Maximum"
      threshold           = floor(var.function_timeout_seconds * 1000 * var.duration_alarm_ratio)
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
    dlq_depth = {
      name                = "${var.dlq_name}-not-empty"
      description         = "Messages reached the dead-letter queue: files that failed every retry."
      namespace           = "AWS/SQS"
      metric_name         = "ApproximateNumberOfMessagesVisible"
      dimensions          = { QueueName = var.dlq_name }
      statistic           = "Maximum"
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      treat_missing_data  = "notBreaching"
    }
    queue_age = {
      name                = "${var.queue_name}-oldest-message-age"
      description         = "Uploads wait in the queue longer than ${var.queue_age_threshold_seconds} s: the function is failing, throttled or too slow."
      namespace           = "AWS/SQS"
      metric_name         = "ApproximateAgeOfOldestMessage"
      dimensions          = { QueueName = var.queue_name }
      statistic           = "Maximum"
      evaluation_periods  = 2
      datapoints_to_alarm = 2
      threshold           = var.queue_age_threshold_seconds
      period              = 300
      comparison_operator = "GreaterThanThreshold"
      treat_missing_data  = "notBreaching"
    }
    # The ETL's own data tests (unique, not_null, relationships, ranges, ledger reconciliation) failed in
    # a run: the run still loaded its files, so nothing else alarms.
    data_test_failures = {
      name                = "${local.alarm_name_prefix}-data-test-failures"
      description         = "Data tests failed after a load (DataTestFailures > 0): see the run summary and the function's \"run report\" log line."
      namespace           = var.metrics_namespace
      metric_name         = "DataTestFailures"
      dimensions          = { service = var.service_name }
      statistic           = "Sum"
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      treat_missing_data  = "notBreaching"
    }
  }

  # Freshness: one alarm per source, ALARM when no file of that source was loaded for N hours (hourly
  # periods, all N breaching; no data counts as breaching). Needs the ETL to emit FilesLoaded with the
  # dimensions service and source (docs/deployment.md, "Freshness alarms").
  freshness_alarms = {
    for source, hours in var.source_freshness_hours : "freshness_${source}" => {
      name                = "${local.alarm_name_prefix}-${replace(source, "_", "-")}-not-loaded-${hours}h"
      description         = "No ${source} file was loaded for ${hours} hours (FilesLoaded, source=${source}): uploads stopped, or every one was skipped, rejected or failed."
      namespace           = var.metrics_namespace
      metric_name         = "FilesLoaded"
      dimensions          = { service = var.service_name, source = source }
      statistic           = "Sum"
      period              = 3600
      evaluation_periods  = hours
      datapoints_to_alarm = hours
      comparison_operator = "LessThanThreshold"
      threshold           = 1
      treat_missing_data  = "breaching"
    }
  }

  # Scheduled extraction (only with a schedule group): deliveries EventBridge Scheduler could not make
  # (TargetErrorCount: Invoke or RunTask refused; after the retries they reach the DLQ), the DLQ itself,
  # and the ETL's own count of extractions that failed (source unreachable, a missing secret, a refused
  # payload: the function or the task ran and said so). A function error after a successful delivery also
  # shows in lambda_errors above, and a failed asynchronous invocation ends in the uploads' DLQ.
  extraction_alarms = var.extraction_schedule_group == null ? {} : {
    extraction_target_errors = {
      name                = "${var.extraction_schedule_group}-target-errors"
      description         = "EventBridge Scheduler could not start a scheduled extraction (the function's Invoke or the task's RunTask failed; see the schedule DLQ)."
      namespace           = "AWS/Scheduler"
      metric_name         = "TargetErrorCount"
      dimensions          = { ScheduleGroup = var.extraction_schedule_group }
      statistic           = "Sum"
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      treat_missing_data  = "notBreaching"
    }
    extraction_dlq_depth = {
      name                = "${coalesce(var.extraction_dlq_name, "${var.extraction_schedule_group}-dlq")}-not-empty"
      description         = "Scheduled extractions EventBridge Scheduler gave up on after its retries are in the schedule dead-letter queue."
      namespace           = "AWS/SQS"
      metric_name         = "ApproximateNumberOfMessagesVisible"
      dimensions          = { QueueName = coalesce(var.extraction_dlq_name, "${var.extraction_schedule_group}-dlq") }
      statistic           = "Maximum"
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      treat_missing_data  = "notBreaching"
    }
    extraction_failures = {
      name                = "${local.alarm_name_prefix}-extractions-failed"
      description         = "A scheduled extraction failed (ExtractionsFailed > 0): see the \"extract report\" log line of the function or the task."
      namespace           = var.metrics_namespace
      metric_name         = "ExtractionsFailed"
      dimensions          = { service = var.service_name }
      statistic           = "Sum"
      period              = 300
      evaluation_periods  = 1
      datapoints_to_alarm = 1
      comparison_operator = "GreaterThanThreshold"
      threshold           = 0
      treat_missing_data  = "notBreaching"
    }
  }

  all_alarms = merge(local.alarms, local.event_rule_alarms, local.freshness_alarms, local.extraction_alarms)
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.all_alarms

  alarm_name          = each.value.name
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = each.value.evaluation_periods
  datapoints_to_alarm = each.value.datapoints_to_alarm
  threshold           = each.value.threshold
  comparison_operator = each.value.comparison_operator
  treat_missing_data  = each.value.treat_missing_data
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = var.tags
}
