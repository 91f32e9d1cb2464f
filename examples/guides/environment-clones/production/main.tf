# Production: the application's backup storage location (read-write) and its backup.
terraform {
  # Write-only arguments and ephemeral variables.
  required_version = ">= 1.11"
}

variable "kube_context" {
  type        = string
  default     = "production"
  description = "Context of the production cluster in ~/.kube/config."
}

variable "namespace" {
  type    = string
  default = "shop"
}

# Production's bucket, on an S3-compatible store.
variable "bucket" {
  type    = string
  default = "styrmin-backups"
}

variable "endpoint" {
  type    = string
  default = "https://minio.example.com:9000"
}

variable "s3_access_key_id" {
  type = string
}

# Ephemeral: kept out of the plan and the state.
variable "s3_secret_access_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "s3_secret_access_key_version" {
  type        = number
  default     = 1
  description = "Bump to send a rotated s3_secret_access_key."
}

provider "styrmin" {
  config_path    = "~/.kube/config"
  config_context = var.kube_context
}

resource "styrmin_backup_location" "production" {
  name             = "production"
  bucket           = var.bucket
  prefix           = "production"
  region           = "us-east-1"
  endpoint         = var.endpoint
  force_path_style = true

  access_key_id                = var.s3_access_key_id
  secret_access_key_wo         = var.s3_secret_access_key
  secret_access_key_wo_version = var.s3_secret_access_key_version
}

data "styrmin_driver_spec" "app" {
  path = "${path.module}/driver.styrmin.yml"
}

# A new backup on every `terraform apply -replace=styrmin_backup.app`; Velero expires each
# one after its ttl.
resource "styrmin_backup" "app" {
  namespace       = var.namespace
  backup_location = styrmin_backup_location.production.name
  components      = data.styrmin_driver_spec.app.components
  ttl             = "168h"
}

# What the clone environment needs: the backup to restore and where it is.
output "backup_name" {
  value = styrmin_backup.app.name
}

output "bucket" {
  value = {
    bucket   = styrmin_backup_location.production.bucket
    prefix   = styrmin_backup_location.production.prefix
    region   = styrmin_backup_location.production.region
    endpoint = styrmin_backup_location.production.endpoint
  }
}
