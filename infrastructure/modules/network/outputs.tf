output "vpc_id" {
  description = "VPC ID."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "VPC CIDR."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "Private subnet IDs, one per availability zone."
  value       = aws_subnet.private[*].id
}

output "workload_security_group_id" {
  description = "Security group of the ETL Lambda and Fargate tasks."
  value       = aws_security_group.workload.id
}

output "redshift_security_group_id" {
  description = "Security group of the Redshift Serverless workgroup."
  value       = aws_security_group.redshift.id
}

output "quicksight_security_group_id" {
  description = "Security group of the QuickSight VPC connection."
  value       = aws_security_group.quicksight.id
}

output "s3_gateway_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}

output "interface_endpoint_ids" {
  description = "Interface endpoint IDs by service name."
  value       = { for service, endpoint in aws_vpc_endpoint.interface : service => endpoint.id }
}
