# QuickSight reaches the private Redshift workgroup through a VPC connection, signs in with the
# Secrets Manager secret and exposes one direct-query dataset per mart_* view.
# The dashboard itself is defined elsewhere; it builds on these datasets.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  datasets  = { for view, columns in var.mart_columns : view => columns }

  # QuickSight accepts only its predefined permission sets on a data source or dataset: "use" (describe,
  # pass) or "owner" (use plus update, delete, permissions, ingestion). Anything in between is refused
  # ("ResourcePermission list contains unsupported permission sets"). The principal gets the owner sets.
  data_source_owner_actions = [
    "quicksight:DeleteDataSource",
    "quicksight:DescribeDataSource",
    "quicksight:DescribeDataSourcePermissions",
    "quicksight:PassDataSource",
    "quicksight:UpdateDataSource",
    "quicksight:UpdateDataSourcePermissions",
  ]
  data_set_owner_actions = [
    "quicksight:CancelIngestion",
    "quicksight:CreateIngestion",
    "quicksight:DeleteDataSet",
    "quicksight:DescribeDataSet",
    "quicksight:DescribeDataSetPermissions",
    "quicksight:DescribeIngestion",
    "quicksight:ListIngestions",
    "quicksight:PassDataSet",
    "quicksight:UpdateDataSet",
    "quicksight:UpdateDataSetPermissions",
  ]
}

data "aws_iam_policy_document" "vpc_connection_assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["quicksight.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [var.account_id]
    }
  }
}

data "aws_iam_policy_document" "vpc_connection" {
  statement {
    sid       = "DescribeSubnetsAndSecurityGroups"
    effect    = "Allow"
    actions   = ["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets"]
    resources = ["*"]
  }

  statement {
    sid     = "CreateInterfacesInPrivateSubnets"
    effect  = "Allow"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      ["arn:${local.partition}:ec2:${local.region}:${var.account_id}:network-interface/*"],
      [for id in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${var.account_id}:subnet/${id}"],
      [for id in var.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${var.account_id}:security-group/${id}"],
    )
  }

  statement {
    sid       = "ManageOwnInterfaces"
    effect    = "Allow"
    actions   = ["ec2:DeleteNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${var.account_id}:network-interface/*"]

    condition {
      test     = "ArnEquals"
      variable = "ec2:Subnet"
      values   = [for id in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${var.account_id}:subnet/${id}"]
    }
  }

  statement {
    sid       = "ModifyInterfaceSecurityGroups"
    effect    = "Allow"
    actions   = ["ec2:ModifyNetworkInterfaceAttribute"]
    resources = [for id in var.security_group_ids : "arn:${local.partition}:ec2:${local.region}:${var.account_id}:security-group/${id}"]
  }
}

resource "aws_iam_role" "vpc_connection" {
  name               = "${var.name}-quicksight-vpc"
  description        = "Lets QuickSight place its network interfaces in the private subnets."
  assume_role_policy = data.aws_iam_policy_document.vpc_connection_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "vpc_connection" {
  name   = "manage-network-interfaces"
  role   = aws_iam_role.vpc_connection.id
  policy = data.aws_iam_policy_document.vpc_connection.json
}

resource "aws_quicksight_vpc_connection" "this" {
  vpc_connection_id  = var.name
  name               = "${var.name} private subnets"
  role_arn           = aws_iam_role.vpc_connection.arn
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  tags               = var.tags
}

resource "aws_quicksight_data_source" "redshift" {
  data_source_id = "${var.name}-redshift"
  name           = "${var.name} Redshift warehouse"
  type           = "REDSHIFT"

  parameters {
    redshift {
      host     = var.redshift_host
      port     = var.redshift_port
      database = var.redshift_database
    }
  }

  credentials {
    secret_arn = var.redshift_secret_arn
  }

  vpc_connection_properties {
    vpc_connection_arn = aws_quicksight_vpc_connection.this.arn
  }

  ssl_properties {
    disable_ssl = false
  }

  permission {
    principal = var.principal_arn
    actions   = local.data_source_owner_actions
  }

  tags = var.tags
}

resource "aws_quicksight_data_set" "mart" {
  for_each = local.datasets

  data_set_id = "${var.name}-${replace(each.key, "_", "-")}"
  name        = each.key
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = replace(each.key, "_", "-")

    relational_table {
      data_source_arn = aws_quicksight_data_source.redshift.arn
      schema          = var.mart_schema
      name            = each.key

      dynamic "input_columns" {
        for_each = each.value

        content {
          name = input_columns.value.name
          type = input_columns.value.type
        }
      }
    }
  }

  # A column with a geographic role (the states) is tagged on the logical table, so a filled map can use it.
  dynamic "logical_table_map" {
    for_each = length(lookup(var.geographic_roles, each.key, {})) > 0 ? [lookup(var.geographic_roles, each.key, {})] : []

    content {
      logical_table_map_id = replace(each.key, "_", "-")
      alias                = each.key

      source {
        physical_table_id = replace(each.key, "_", "-")
      }

      dynamic "data_transforms" {
        for_each = logical_table_map.value

        content {
          tag_column_operation {
            column_name = data_transforms.key

            tags {
              column_geographic_role = data_transforms.value
            }
          }
        }
      }
    }
  }

  permissions {
    principal = var.principal_arn
    actions   = local.data_set_owner_actions
  }

  tags = var.tags
}
