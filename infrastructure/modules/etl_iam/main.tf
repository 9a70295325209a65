# The data permissions of the ETL, shared by the Lambda function and the Fargate task so both
# entry points of the same image can do exactly the same things and nothing more.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  glue_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
}

data "aws_iam_policy_document" "data_access" {
  statement {
    sid       = "ListRawIncoming"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.raw_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.raw_prefix}*"]
    }
  }

  statement {
    sid       = "ReadRawIncoming"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"]
    resources = ["${var.raw_bucket_arn}/${var.raw_prefix}*"]
  }

  dynamic "statement" {
    for_each = var.profile_key == null ? [] : [var.profile_key]
    content {
      sid       = "ReadProfile"
      effect    = "Allow"
      actions   = ["s3:GetObject"]
      resources = ["${var.raw_bucket_arn}/${statement.value}"]
    }
  }

  statement {
    sid       = "ListLake"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.lake_bucket_arn]
  }

  statement {
    sid    = "ReadWriteLakeAndStaging"
    effect = "Allow"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = [for prefix in var.lake_prefixes : "${var.lake_bucket_arn}/${prefix}*"]
  }

  statement {
    sid       = "UseDataKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "ReadWarehouseSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = [var.redshift_secret_arn]
  }

  statement {
    sid    = "RegisterLakeTablesInGlue"
    effect = "Allow"
    actions = [
      "glue:BatchCreatePartition",
      "glue:BatchGetPartition",
      "glue:CreatePartition",
      "glue:CreateTable",
      "glue:GetDatabase",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:GetTable",
      "glue:GetTables",
      "glue:UpdatePartition",
      "glue:UpdateTable",
    ]
    resources = [
      "${local.glue_prefix}:catalog",
      "${local.glue_prefix}:database/${var.glue_database_name}",
      "${local.glue_prefix}:table/${var.glue_database_name}/*",
    ]
  }

  statement {
    sid       = "PublishRunSummaries"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = [var.sns_topic_arn]
  }
}

resource "aws_iam_policy" "data_access" {
  name        = "${var.name}-data-access"
  description = "Data permissions of the credit-risk ETL (Lambda function and Fargate task)."
  policy      = data.aws_iam_policy_document.data_access.json
  tags        = var.tags
}
