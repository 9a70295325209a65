output "schedule_group_name" {
  description = "Schedule group of the extraction schedules (dimension ScheduleGroup of their AWS/Scheduler metrics)."
  value       = aws_scheduler_schedule_group.this.name
}

output "dead_letter_queue_name" {
  description = "Queue of the deliveries EventBridge Scheduler gave up on."
  value       = aws_sqs_queue.dlq.name
}

output "dead_letter_queue_arn" {
  description = "ARN of that queue."
  value       = aws_sqs_queue.dlq.arn
}

output "scheduler_role_arn" {
  description = "Role EventBridge Scheduler runs the targets with."
  value       = aws_iam_role.scheduler.arn
}

output "schedule_arns" {
  description = "ARN of each extraction's schedule, by extraction name."
  value       = { for name, schedule in aws_scheduler_schedule.this : name => schedule.arn }
}
