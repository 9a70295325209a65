# Glue Data Catalog database of the curated lake tables (queried with Athena).

resource "aws_glue_catalog_database" "this" {
  name         = var.name
  description  = "Curated credit-risk lake tables (Parquet under ${var.location_uri})."
  location_uri = var.location_uri
  tags         = var.tags
}
