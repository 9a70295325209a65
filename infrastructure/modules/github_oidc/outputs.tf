output "role_arn" {
  description = "ARN of the deploy role."
  value       = aws_iam_role.deploy.arn
}

output "oidc_provider_arn" {
  description = "ARN of the GitHub OIDC provider used by the role."
  value       = local.provider_arn
}

output "plan_role_arn" {
  description = "ARN of the read-only plan role for pull requests."
  value       = aws_iam_role.plan.arn
}
