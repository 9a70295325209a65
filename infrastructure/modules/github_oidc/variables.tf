variable "role_name" {
  type        = string
  description = "Name of the deploy role."
}

variable "github_repository" {
  type        = string
  description = "Repository allowed to assume the role, as owner/name."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "partition" {
  type        = string
  description = "AWS partition of the ARNs."
  default     = "aws"
}

variable "region" {
  type        = string
  description = "Region of the stack."
}

variable "account_id" {
  type        = string
  description = "Account of the stack."
}

variable "fargate_task_family" {
  type        = string
  description = "Task definition family the role may register new revisions of."
}

variable "fargate_role_arns" {
  type        = list(string)
  description = "Task and execution roles the role may pass to ECS when registering a revision."
}

variable "raw_bucket_arn" {
  type        = string
  description = "Raw bucket the smoke test uploads to (incoming/ only)."
}

variable "redshift_workgroup_arn" {
  type        = string
  description = "Workgroup the smoke test queries through the Redshift Data API."
}

variable "redshift_secret_arn" {
  type        = string
  description = "Admin secret the smoke test connects with."
}

variable "extra_policy_arns" {
  type        = list(string)
  description = "Managed policies attached to the deploy role in addition to its scoped inline policy."
  default     = []
}

variable "ecr_repository_arn" {
  type        = string
  description = "Repository the role may push to."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the repository."
}

variable "lambda_function_arn" {
  type        = string
  description = "Function whose code the role may update."
}

variable "state_bucket_name" {
  type        = string
  description = "Bucket holding the Terraform state."
}

variable "state_key_prefix" {
  type        = string
  description = "Key prefix of this environment's state objects (and their lock files)."
}

variable "state_kms_key_arn" {
  type        = string
  description = "KMS key the state is encrypted with (the bootstrap's; backend kms_key_id)."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}

variable "plan_role_name" {
  type        = string
  description = "Name of the read-only plan role that pull requests assume."
}

variable "quicksight_enabled" {
  type        = bool
  description = "Let the deploy role create, update and publish the QuickSight dashboard."
  default     = false
}

variable "quicksight_dashboard_id" {
  type        = string
  description = "ID of the QuickSight dashboard the deploy role may create and update."
  default     = "credit-risk"
}

variable "quicksight_data_set_arns" {
  type        = list(string)
  description = "QuickSight dataset ARNs the deploy role may pass to the dashboard."
  default     = []
}

variable "lake_bucket_arn" {
  type        = string
  description = "Lake bucket: neither CI role may read its objects (ReadOnlyAccess would allow it)."
}

variable "data_log_group_names" {
  type        = list(string)
  description = "Log groups of the function and the Fargate task: their events quote quarantined values and narrations, so neither CI role may read them."
}

variable "plan_environment" {
  type        = string
  description = "GitHub environment of plan.yml's job (required reviewers approve each plan run); the plan role trusts only its OIDC subject."
  default     = "terraform-plan"
}
