output "state_bucket_name" {
  description = "Bucket to pass as -backend-config=bucket=... and as terraform_state_bucket."
  value       = module.state_bucket.id
}

output "state_kms_key_arn" {
  description = "KMS key of the state bucket, to pass as terraform_state_kms_key_arn."
  value       = module.kms.key_arn
}
