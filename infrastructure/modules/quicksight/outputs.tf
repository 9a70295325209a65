output "data_source_arn" {
  description = "ARN of the Redshift data source."
  value       = aws_quicksight_data_source.redshift.arn
}

output "data_set_arns" {
  description = "Dataset ARNs by mart view name."
  value       = { for view, data_set in aws_quicksight_data_set.mart : view => data_set.arn }
}

output "vpc_connection_arn" {
  description = "ARN of the QuickSight VPC connection."
  value       = aws_quicksight_vpc_connection.this.arn
}
