# Slack without internet egress: the function and the Fargate task run in a VPC with no NAT gateway and
# security groups that reach AWS endpoints only, so they cannot call a Slack webhook. They publish the run
# summary to the SNS topic (through the VPC endpoint), and AWS Chatbot, which subscribes to the topic,
# posts it - and every alarm - to the Slack channel. AWS Chatbot renders CloudWatch alarms by itself; other
# messages only in its custom-notification format ({"version": "1.0", "source": "custom", "content": ...}).
# The Slack workspace must first be authorised once in the AWS Chatbot console (an OAuth step with no API).

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  chatbot_enabled = var.slack_workspace_id != null && var.slack_channel_id != null
}

data "aws_iam_policy_document" "chatbot_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["chatbot.amazonaws.com"]
    }
  }
}

# What the channel may do: read the metrics and alarms it draws its notifications from (the "notification
# permissions" of the AWS Chatbot console, without wildcards). No logs: the ETL's log events quote
# customer data. The same policy is the channel's guardrail, so nobody in the channel can run more through
# the bot than this, whatever their own role (the default guardrail would be AdministratorAccess).
data "aws_iam_policy_document" "chatbot" {
  statement {
    sid    = "ReadMetrics"
    effect = "Allow"
    actions = [
      "cloudwatch:DescribeAlarmsForMetric",
      "cloudwatch:GetMetricData",
      "cloudwatch:GetMetricStatistics",
      "cloudwatch:GetMetricWidgetImage",
      "cloudwatch:ListMetrics",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadAlarms"
    effect    = "Allow"
    actions   = ["cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms"]
    resources = ["arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.name}:${var.account_id}:alarm:*"]
  }
}

resource "aws_iam_policy" "chatbot" {
  count = local.chatbot_enabled ? 1 : 0

  name        = "${var.name}-chatbot-notifications"
  description = "AWS Chatbot channel of ${var.name}: read metrics and alarms (role policy and channel guardrail)."
  policy      = data.aws_iam_policy_document.chatbot.json
  tags        = var.tags
}

resource "aws_iam_role" "chatbot" {
  count = local.chatbot_enabled ? 1 : 0

  name               = "${var.name}-chatbot"
  description        = "Assumed by AWS Chatbot for the Slack channel of ${var.name}."
  assume_role_policy = data.aws_iam_policy_document.chatbot_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "chatbot" {
  count = local.chatbot_enabled ? 1 : 0

  role       = aws_iam_role.chatbot[0].name
  policy_arn = aws_iam_policy.chatbot[0].arn
}

resource "aws_chatbot_slack_channel_configuration" "this" {
  count = local.chatbot_enabled ? 1 : 0

  configuration_name    = var.name
  iam_role_arn          = aws_iam_role.chatbot[0].arn
  slack_team_id         = var.slack_workspace_id
  slack_channel_id      = var.slack_channel_id
  sns_topic_arns        = [aws_sns_topic.this.arn]
  guardrail_policy_arns = [aws_iam_policy.chatbot[0].arn]
  logging_level         = "ERROR"
  tags                  = var.tags
}
