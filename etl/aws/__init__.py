"""AWS edge of the pipeline: Lambda events in, S3 object references out."""
