"""The AWS edge, under the thin `etl.handler`: Lambda events in (`events`), one invocation's work
(`invocation`, its `outcome`), large files on ECS Fargate (`fargate`), CloudWatch metrics as EMF
(`metrics`) and the structured logger (`log`)."""
