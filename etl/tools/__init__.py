"""Tools around the product: synthetic data (`generate`), the benchmark (`bench`), the soak test (`soak`) and
the post-deploy smoke test (`smoke`). Nothing in the product depends on them."""
