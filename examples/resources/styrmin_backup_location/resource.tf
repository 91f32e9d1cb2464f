variable "minio_access_key_id" {
  type = string
}

variable "minio_secret_access_key" {
  type      = string
  sensitive = true
}

# Production's location: a MinIO bucket, addressed by path as MinIO requires.
resource "styrmin_backup_location" "production" {
  name             = "production"
  bucket           = "styrmin-backups"
  prefix           = "production"
  region           = "us-east-1"
  endpoint         = "https://minio.example.com:9000"
  force_path_style = true

  access_key_id     = var.minio_access_key_id
  secret_access_key = var.minio_secret_access_key
}

# The staging cluster, where production's backups are restored to test them.
provider "styrmin" {
  alias          = "staging"
  config_path    = "~/.kube/config"
  config_context = "staging"
}

# A read-only clone of production's location in the staging cluster: Velero there lists and
# restores production's backups but never writes to or deletes from production's prefix.
resource "styrmin_backup_location" "production_clone" {
  provider = styrmin.staging

  name             = "production-clone"
  bucket           = styrmin_backup_location.production.bucket
  prefix           = styrmin_backup_location.production.prefix
  region           = styrmin_backup_location.production.region
  endpoint         = styrmin_backup_location.production.endpoint
  force_path_style = true
  access_mode      = "ReadOnly"

  access_key_id     = var.minio_access_key_id
  secret_access_key = var.minio_secret_access_key
}
