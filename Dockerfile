# Lambda container image for etl.handler.lambda_handler (also run on ECS Fargate for oversized files).
# Base pinned by digest (the multi-arch index of public.ecr.aws/lambda/python:3.12), not the moving tag.
# Re-resolve with: docker buildx imagetools inspect public.ecr.aws/lambda/python:3.12
# (Dependabot's docker ecosystem in .github/dependabot.yml proposes updates.)
FROM public.ecr.aws/lambda/python:3.12@sha256:e6f5e8e6607c461c49488f2e02204960e64054034dca27653bb998c78a194597

# Runtime dependencies only, every file checked against the locked hashes; wheels only, so no C is
# compiled in the image. --compile (pip's default, spelled out): their bytecode is written now, since
# /var/task is read-only at run time and every cold start would compile them again (pandas alone, 3x slower
# to import without it). Regenerate the lock with `make lock`.
COPY requirements/lambda.txt /tmp/requirements/lambda.txt
RUN pip install --no-cache-dir --compile --require-hashes --only-binary=:all: \
        -r /tmp/requirements/lambda.txt --target "${LAMBDA_TASK_ROOT}" \
    && rm -rf /tmp/requirements

COPY etl/ ${LAMBDA_TASK_ROOT}/etl/
# /var/task is read-only at run time: compile now so cold starts do not recompile the package.
RUN python -m compileall -q "${LAMBDA_TASK_ROOT}/etl"

CMD ["etl.handler.lambda_handler"]
