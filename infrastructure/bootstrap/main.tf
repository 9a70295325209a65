# One-time bootstrap of an account, applied with local state before the main stack: the Terraform state
# bucket and its key, and what an account may hold only once, whichever stacks (dev, prod) it runs - the
# GitHub OIDC provider and ECS's service-linked role. The bucket uses the same hardened module as the data buckets; state objects are
# versioned so a bad apply can be rolled back, and lock files (use_lockfile) live next to them.

terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project   = var.project
      ManagedBy = "terraform"
      Purpose   = "terraform-state"
    }
  }
}

data "aws_caller_identity" "current" {}

locals {
  bucket_name = coalesce(var.state_bucket_name, "${var.project}-tfstate-${data.aws_caller_identity.current.account_id}-${var.aws_region}")
}

module "kms" {
  source = "../modules/kms"

  alias       = "${var.project}-tfstate"
  description = "Encrypts the ${var.project} Terraform state."
}

module "state_bucket" {
  source = "../modules/s3_bucket"

  name                               = local.bucket_name
  kms_key_arn                        = module.kms.key_arn
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
}

# GitHub Actions' OIDC identity provider: one per account and URL (creating a second fails with
# EntityAlreadyExists). Every stack's deploy and plan roles trust it; the main stack only reads it.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url             = "https://token.actions.githubusercontent.com"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]
}

# ECS's service-linked role (AWSServiceRoleForECS): ECS uses it to attach the Fargate tasks' network
# interfaces, so RunTask fails without it. CreateCluster tries to create it when it is missing, but in a
# new account the cluster's capacity providers can be set before it is usable ("Unable to assume the
# service linked role"), and an account has it once: created here, once, or left alone when it exists
# (`aws iam get-role --role-name AWSServiceRoleForECS`; creating it again fails: "has been taken").
resource "aws_iam_service_linked_role" "ecs" {
  count = var.create_ecs_service_linked_role ? 1 : 0

  aws_service_name = "ecs.amazonaws.com"
  description      = "Lets Amazon ECS manage the network interfaces of the credit-risk ETL's Fargate tasks."
}
