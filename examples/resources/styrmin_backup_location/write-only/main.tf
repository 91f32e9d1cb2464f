terraform {
  # Write-only arguments and ephemeral variables.
  required_version = ">= 1.11"
}

variable "minio_access_key_id" {
  type = string
}

# Ephemeral: the value is neither stored in the plan nor in the state.
variable "minio_secret_access_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "styrmin_backup_location" "production" {
  name             = "production"
  bucket           = "styrmin-backups"
  prefix           = "production"
  region           = "us-east-1"
  endpoint         = "https://minio.example.com:9000"
  force_path_style = true

  access_key_id                = var.minio_access_key_id
  secret_access_key_wo         = var.minio_secret_access_key
  secret_access_key_wo_version = 1 # bump to send a rotated key
}
