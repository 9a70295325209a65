output "state_bucket_name" {
  description = "Bucket to pass as -backend-config=bucket=... and as terraform_state_bucket."
  value       = module.state_bucket.id
}

output "state_kms_key_arn" {
  description = "KMS key of the state bucket, to pass as terraform_state_kms_key_arn."
  value       = module.kms.key_arn
}

output "github_oidc_provider_arn" {
  description = "ARN of the account's GitHub OIDC provider (null when create_github_oidc_provider is false: the existing one is used)."
  value       = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : null
}
