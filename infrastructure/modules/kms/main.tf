# One customer-managed key per stack: S3, SQS, SNS, CloudWatch Logs, ECR, Lambda environment,
# Redshift and its managed admin secret all encrypt with it, so one key policy says who may decrypt.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  root_arn   = "arn:${local.partition}:iam::${local.account_id}:root"

  # Envelope-encryption actions only: no key administration for service principals.
  use_actions = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
  ]
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: the account root statement is the AWS default that delegates key administration to IAM; Resource "*" in a key policy means this key only.
  #checkov:skip=CKV_AWS_111:Key policy: Resource "*" in a key policy means this key only; write access is limited to the account root and the listed service principals.
  #checkov:skip=CKV_AWS_356:Key policy: Resource "*" in a key policy means this key only, it cannot name another resource.
  statement {
    sid       = "AccountRootKeyAdministration"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryption"
    effect    = "Allow"
    actions   = local.use_actions
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }

  # S3 event notifications into the encrypted upload queue, and CloudWatch alarms into the encrypted
  # topic, need data keys (S3 user guide "AWS KMS key policy" for event notifications; SNS key management,
  # which recommends aws:SourceAccount / aws:SourceArn for every event source except EventBridge). Limited
  # to this account. A wrong condition here would not fail silently for S3: PutBucketNotificationConfiguration
  # sends a test message, and the apply of aws_s3_bucket_notification fails.
  statement {
    sid       = "ServicePublishersInThisAccount"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com", "cloudwatch.amazonaws.com", "sns.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  # EventBridge delivering the Fargate tasks' STOPPED events to the encrypted queue (and, when that fails,
  # to the encrypted DLQ). EventBridge sends neither aws:SourceAccount nor aws:SourceArn on these calls
  # (SNS documents the same for EventBridge-to-encrypted topics: "not supported"), so a source condition
  # makes every delivery fail: no message in the queue, none in the DLQ, only the rule's FailedInvocations
  # metric (alarmed in modules/monitoring). The SQS guide's statement for event sources has no condition;
  # what limits EventBridge to this stack's rule is the queues' policies (aws:SourceArn = the rule).
  statement {
    sid       = "EventBridgeToEncryptedQueues"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_in_days
  multi_region            = false
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
