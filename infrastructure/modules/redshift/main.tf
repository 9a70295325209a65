# Redshift Serverless warehouse: private, TLS-only, encrypted with the stack key, admin password
# generated and rotated by Secrets Manager, audit logs exported, compute capped by a usage limit.

data "aws_partition" "current" {}

# ---------------------------------------------------------------------------------------------
# COPY role: Redshift reads the Parquet staging objects the ETL writes under staging/ and nothing else.
# ---------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "copy_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

data "aws_iam_policy_document" "copy" {
  statement {
    sid       = "ListStagingPrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.lake_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.staging_prefix}*"]
    }
  }

  statement {
    sid       = "ReadStagingObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.lake_bucket_arn}/${var.staging_prefix}*"]
  }

  statement {
    sid       = "DecryptStagingObjects"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "copy" {
  name               = "${var.name}-redshift-copy"
  description        = "Assumed by Redshift Serverless for COPY from the lake staging prefix."
  assume_role_policy = data.aws_iam_policy_document.copy_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "copy" {
  name   = "copy-from-staging"
  role   = aws_iam_role.copy.id
  policy = data.aws_iam_policy_document.copy.json
}

# ---------------------------------------------------------------------------------------------
# Audit logs: Redshift Serverless exports each log type to /aws/redshift/<namespace>/<log type> and uses
# that log group when it exists; otherwise it creates one that never expires and is not encrypted with
# the stack key (Redshift management guide, "Audit logging for Amazon Redshift Serverless"). So the groups
# are made first, with the stack's retention and key. useractivitylog holds every statement's text.
# ---------------------------------------------------------------------------------------------
locals {
  log_exports = ["connectionlog", "useractivitylog", "userlog"]
}

resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(local.log_exports)

  name              = "/aws/redshift/${var.name}/${each.value}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# ---------------------------------------------------------------------------------------------
# Namespace (storage, users, encryption) and workgroup (compute, network).
# ---------------------------------------------------------------------------------------------
resource "aws_redshiftserverless_namespace" "this" {
  namespace_name                   = var.name
  db_name                          = var.database_name
  admin_username                   = var.admin_username
  manage_admin_password            = true
  admin_password_secret_kms_key_id = var.kms_key_arn
  kms_key_id                       = var.kms_key_arn
  iam_roles                        = [aws_iam_role.copy.arn]
  default_iam_role_arn             = aws_iam_role.copy.arn
  log_exports                      = local.log_exports
  tags                             = var.tags

  # The log groups exist before the namespace starts exporting, so Redshift does not make its own.
  depends_on = [aws_cloudwatch_log_group.exports]
}

resource "aws_redshiftserverless_workgroup" "this" {
  namespace_name       = aws_redshiftserverless_namespace.this.namespace_name
  workgroup_name       = var.name
  base_capacity        = var.base_capacity
  max_capacity         = var.max_capacity
  port                 = var.port
  publicly_accessible  = false
  enhanced_vpc_routing = true
  subnet_ids           = var.subnet_ids
  security_group_ids   = var.security_group_ids

  # Sent on create. The service returns every parameter it has, and it added one that AWS provider 5.100
  # rejects (enable_large_strings_opt_in, Redshift patch 205): the provider cannot list it here, so the
  # block is ignored after create (lifecycle below) and check "redshift_workgroup_security_parameters"
  # warns when the two security parameters drift.
  config_parameter {
    parameter_key   = "require_ssl"
    parameter_value = "true"
  }

  config_parameter {
    parameter_key   = "use_fips_ssl"
    parameter_value = "false"
  }

  config_parameter {
    parameter_key   = "enable_user_activity_logging"
    parameter_value = "true"
  }

  config_parameter {
    parameter_key   = "auto_mv"
    parameter_value = "true"
  }

  config_parameter {
    parameter_key   = "datestyle"
    parameter_value = "ISO, MDY"
  }

  config_parameter {
    parameter_key   = "enable_case_sensitive_identifier"
    parameter_value = "false"
  }

  config_parameter {
    parameter_key   = "query_group"
    parameter_value = "default"
  }

  config_parameter {
    parameter_key   = "search_path"
    parameter_value = "$user, public"
  }

  config_parameter {
    parameter_key   = "max_query_execution_time"
    parameter_value = tostring(var.max_query_execution_time_seconds)
  }

  tags = var.tags

  # AWS provider 5.100 validates parameter_key against a fixed list without enable_large_strings_opt_in,
  # which GetWorkgroup now returns: without this, every plan shows config_parameter changing (the deploy
  # job's plan guard stops) and the apply fails with "ValidationException: You didn't specify any changes
  # to the configuration parameters" (hashicorp/terraform-provider-aws#49939, fix proposed in #49941).
  # To change a parameter after create: aws redshift-serverless update-workgroup --config-parameters ...
  lifecycle {
    ignore_changes = [config_parameter]
  }
}

# The ignored block still refreshes into state: warn (plan and apply go on) when TLS or user-activity
# logging is no longer on, for example after a manual update-workgroup.
check "redshift_workgroup_security_parameters" {
  assert {
    condition = alltrue([
      for key in ["require_ssl", "enable_user_activity_logging"] :
      anytrue([for p in aws_redshiftserverless_workgroup.this.config_parameter : p.parameter_key == key && p.parameter_value == "true"])
    ])
    error_message = "The Redshift workgroup no longer has require_ssl and enable_user_activity_logging set to true (config_parameter is ignored after create; see docs/deployment.md, \"Redshift workgroup parameters\")."
  }
}

# Cost guardrail: compute (RPU-hours) per period; past it, the chosen breach action applies.
resource "aws_redshiftserverless_usage_limit" "compute" {
  resource_arn  = aws_redshiftserverless_workgroup.this.arn
  usage_type    = "serverless-compute"
  amount        = var.usage_limit_rpu_hours
  period        = var.usage_limit_period
  breach_action = var.usage_limit_breach_action
}
