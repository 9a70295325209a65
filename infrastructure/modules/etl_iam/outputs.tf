output "data_access_policy_arn" {
  description = "ARN of the managed policy with the ETL's data permissions."
  value       = aws_iam_policy.data_access.arn
}
