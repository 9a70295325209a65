output "topic_arn" {
  description = "ARN of the run-summary and alarm topic."
  value       = aws_sns_topic.this.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value       = [for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_name]
}
