# GitHub Actions deploys with short-lived credentials: an OIDC provider and two roles.
# - deploy: only this repository's production environment may assume it (deploy.yml's job runs there,
#   behind the environment's reviewers; a job on main without the environment may not). It reads the
#   whole account (ReadOnlyAccess, so `terraform plan` can refresh every resource) and may change only
#   what a push changes: the image in ECR, the function's image and environment, a new revision of the
#   Fargate task definition (older revisions stay registered), the Terraform state, the smoke test and, with QuickSight, the dashboard.
#   Infrastructure changes are applied by an administrator, or by attaching a broader policy through
#   extra_policy_arns (deploy_role_policy_arns); deploy.yml refuses to apply a plan that changes more.
# - plan: only a job in this repository's plan environment (plan.yml, behind that environment's required
#   reviewers) may assume it; it reads (ReadOnlyAccess minus data: an explicit deny of object, secret,
#   parameter, log-event, queue-message and table reads outside the state) and writes nothing, for the plan
#   comment of plan.yml (`terraform plan -lock=false`). A pull request's HCL runs with these credentials
#   (an `external` data source, a provider of its own), so a reviewer approves each plan run first.
locals {
  oidc_host    = "token.actions.githubusercontent.com"
  provider_arn = data.aws_iam_openid_connect_provider.github.arn
  subjects = [
    "repo:${var.github_repository}:environment:production",
  ]
  plan_subjects        = ["repo:${var.github_repository}:environment:${var.plan_environment}"]
  read_only_policy_arn = "arn:${var.partition}:iam::aws:policy/ReadOnlyAccess"
  state_objects_arn    = "arn:${var.partition}:s3:::${var.state_bucket_name}/${var.state_key_prefix}*"
  quicksight_account   = "arn:${var.partition}:quicksight:${var.region}:${var.account_id}"
  quicksight_dashboard = "${local.quicksight_account}:dashboard/${var.quicksight_dashboard_id}"
}

# One provider per account and URL, shared by every stack (dev and prod) of the account: bootstrap/ creates
# it once. Until it exists, the plan fails reading data.aws_iam_openid_connect_provider.github.
data "aws_iam_openid_connect_provider" "github" {
  url = "https://${local.oidc_host}"
}

data "aws_iam_policy_document" "trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = local.subjects
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = var.role_name
  description          = "GitHub Actions deploy role for ${var.github_repository} (its production environment)."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "EcrLogin"
    effect    = "Allow"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid    = "PushEtlImage"
    effect = "Allow"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImageScanFindings",
      "ecr:DescribeImages",
      "ecr:DescribeRepositories",
      "ecr:GetDownloadUrlForLayer",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [var.ecr_repository_arn]
  }

  # The image layers, and the function's environment (which a deploy changes: ETL_FARGATE_TASK_DEFINITION
  # names the new revision) are encrypted with the stack key.
  statement {
    sid       = "EncryptImageLayers"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  # UpdateFunctionConfiguration of a function whose KMSKeyArn is a customer managed key: Lambda encrypts
  # the environment and creates a grant on the key with the caller's permissions ("kms:CreateGrant,
  # kms:Encrypt - To configure a customer managed key on a function", Lambda developer guide, environment
  # variables). The grant is only for Lambda (kms:GrantIsForAWSResource).
  statement {
    sid       = "EncryptFunctionEnvironment"
    effect    = "Allow"
    actions   = ["kms:Encrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "LetLambdaGrantItselfTheKey"
    effect    = "Allow"
    actions   = ["kms:CreateGrant"]
    resources = [var.kms_key_arn]

    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }

  # A deploy changes image_tag: the function's image and environment and a new task-definition revision.
  statement {
    sid    = "UpdateEtlFunction"
    effect = "Allow"
    actions = [
      "lambda:GetFunction",
      "lambda:GetFunctionCodeSigningConfig",
      "lambda:GetFunctionConfiguration",
      "lambda:ListVersionsByFunction",
      "lambda:PublishVersion",
      "lambda:UpdateFunctionCode",
      "lambda:UpdateFunctionConfiguration",
    ]
    resources = [var.lambda_function_arn]
  }

  # ECS has no resource-level permissions for these two (IAM authorises them on "*" only, and no condition
  # key names the family): scoped to the family, Terraform's new revision was denied and every deploy
  # failed. So this role could register a definition of any family - but registering runs nothing (this
  # role may not RunTask; the function may run only this family), and it may pass only the two Fargate
  # roles. No DeregisterTaskDefinition: the task definition has skip_destroy, a deploy only adds a revision.
  statement {
    sid       = "RegisterFargateTaskDefinitionRevisions"
    effect    = "Allow"
    actions   = ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"]
    resources = ["*"]
  }

  statement {
    sid       = "TagFargateTaskDefinition"
    effect    = "Allow"
    actions   = ["ecs:TagResource"]
    resources = ["arn:${var.partition}:ecs:${var.region}:${var.account_id}:task-definition/${var.fargate_task_family}:*"]
  }

  statement {
    sid       = "PassFargateRoles"
    effect    = "Allow"
    actions   = ["iam:PassRole"]
    resources = var.fargate_role_arns

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # Smoke test after a deploy: upload one CSV and read the ledger through the Redshift Data API.
  statement {
    sid       = "SmokeTestUpload"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${var.raw_bucket_arn}/incoming/*"]
  }

  statement {
    sid       = "SmokeTestQuery"
    effect    = "Allow"
    actions   = ["redshift-data:ExecuteStatement"]
    resources = [var.redshift_workgroup_arn]
  }

  statement {
    sid       = "SmokeTestReadOwnStatements"
    effect    = "Allow"
    actions   = ["redshift-data:DescribeStatement", "redshift-data:GetStatementResult"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "redshift-data:statement-owner-iam-userid"
      values   = ["$${aws:userid}"]
    }
  }

  statement {
    sid       = "SmokeTestWarehouseCredentials"
    effect    = "Allow"
    actions   = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    resources = [var.redshift_secret_arn]
  }

  statement {
    sid       = "ListTerraformState"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${var.partition}:s3:::${var.state_bucket_name}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.state_key_prefix}*"]
    }
  }

  statement {
    sid       = "ReadWriteTerraformStateAndLock"
    effect    = "Allow"
    actions   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    resources = ["arn:${var.partition}:s3:::${var.state_bucket_name}/${var.state_key_prefix}*"]
  }

  # The backend encrypts the state with this key (kms_key_id); Terraform's S3 backend needs kms:Encrypt,
  # kms:Decrypt and kms:GenerateDataKey on it.
  statement {
    sid       = "UseTerraformStateKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.state_kms_key_arn]
  }

  # After apply, deploy.yml runs `etl quicksight`: create or update the dashboard and publish it.
  dynamic "statement" {
    for_each = var.quicksight_enabled ? [local.quicksight_dashboard] : []

    content {
      sid    = "DeployQuickSightDashboard"
      effect = "Allow"
      actions = [
        "quicksight:CreateDashboard",
        "quicksight:DescribeDashboard",
        "quicksight:UpdateDashboard",
        "quicksight:UpdateDashboardPermissions",
        "quicksight:UpdateDashboardPublishedVersion",
      ]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.quicksight_enabled ? [true] : []

    content {
      sid       = "PassQuickSightDataSets"
      effect    = "Allow"
      actions   = ["quicksight:PassDataSet"]
      resources = var.quicksight_data_set_arns
    }
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy-image-function-state"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

# `terraform plan` refreshes every resource of the stack: read access to all of them.
resource "aws_iam_role_policy_attachment" "deploy_read_only" {
  role       = aws_iam_role.deploy.name
  policy_arn = local.read_only_policy_arn
}

# Opt-in extras: an organisation's infrastructure policy, for a pipeline that applies more than the image.
resource "aws_iam_role_policy_attachment" "extra" {
  for_each = toset(var.extra_policy_arns)

  role       = aws_iam_role.deploy.name
  policy_arn = each.value
}

# ---------------------------------------------------------------------------------------------
# Read-only plan role for pull request plan comments (plan.yml, secret AWS_PLAN_ROLE_ARN)
# ---------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "plan_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = local.plan_subjects
    }
  }
}

resource "aws_iam_role" "plan" {
  name                 = var.plan_role_name
  description          = "GitHub Actions read-only Terraform plan role for pull requests of ${var.github_repository}."
  assume_role_policy   = data.aws_iam_policy_document.plan_trust.json
  max_session_duration = 3600
  tags                 = var.tags
}

# Plans run with -lock=false: the state object is read, never written, and no lock file is made.
data "aws_iam_policy_document" "plan" {
  statement {
    sid       = "ListTerraformState"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${var.partition}:s3:::${var.state_bucket_name}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.state_key_prefix}*"]
    }
  }

  statement {
    sid       = "ReadTerraformState"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.state_objects_arn]
  }

  statement {
    sid       = "DecryptTerraformState"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.state_kms_key_arn]
  }
}

resource "aws_iam_role_policy" "plan" {
  name   = "read-terraform-state"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

# ReadOnlyAccess also reads data: S3 objects, secret values, SSM parameters, log events, queue messages,
# DynamoDB items, container image layers, query results. `terraform plan` of this stack reads none of
# them except its own state object, and a pull request's HCL could read all of them with these
# credentials and send them anywhere. Denied whatever is attached.
data "aws_iam_policy_document" "plan_reads_no_data" {
  statement {
    sid           = "DenyObjectReadsButTheState"
    effect        = "Deny"
    actions       = ["s3:GetObject", "s3:GetObjectAttributes", "s3:GetObjectVersion"]
    not_resources = [local.state_objects_arn]
  }

  statement {
    sid    = "DenyDataPlaneReads"
    effect = "Deny"
    actions = [
      "athena:GetQueryResults",
      "dynamodb:BatchGetItem",
      "dynamodb:GetItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
      "kinesis:GetRecords",
      "logs:FilterLogEvents",
      "logs:GetLogEvents",
      "logs:GetQueryResults",
      "logs:StartLiveTail",
      "logs:StartQuery",
      "redshift-data:GetStatementResult",
      "secretsmanager:GetSecretValue",
      "sqs:ReceiveMessage",
      "ssm:GetParameter",
      "ssm:GetParameterHistory",
      "ssm:GetParameters",
      "ssm:GetParametersByPath",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "plan_reads_no_data" {
  name   = "plan-reads-no-data"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan_reads_no_data.json
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.plan.name
  policy_arn = local.read_only_policy_arn
}

# ---------------------------------------------------------------------------------------------
# ReadOnlyAccess (both roles: `terraform plan` refreshes every resource) also reads S3 objects and log
# events. Refreshing the stack needs neither, and the raw and lake objects and the ETL's logs hold customer
# data (the logs quote quarantined values), so both roles are denied them explicitly, whatever is attached.
locals {
  data_log_group_arns = flatten([
    for name in var.data_log_group_names : [
      "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:${name}",
      "arn:${var.partition}:logs:${var.region}:${var.account_id}:log-group:${name}:*",
    ]
  ])
}

data "aws_iam_policy_document" "no_customer_data" {
  statement {
    sid       = "DenyReadingRawAndLakeObjects"
    effect    = "Deny"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"]
    resources = ["${var.raw_bucket_arn}/*", "${var.lake_bucket_arn}/*"]
  }

  statement {
    sid       = "DenyReadingEtlLogEvents"
    effect    = "Deny"
    actions   = ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:StartLiveTail", "logs:StartQuery"]
    resources = local.data_log_group_arns
  }
}

resource "aws_iam_role_policy" "deploy_no_customer_data" {
  name   = "no-customer-data"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.no_customer_data.json
}

resource "aws_iam_role_policy" "plan_no_customer_data" {
  name   = "no-customer-data"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.no_customer_data.json
}
