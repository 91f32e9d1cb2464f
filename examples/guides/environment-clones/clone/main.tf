# The test environment, in its own cluster: reads production's bucket through a ReadOnly location
# and restores production's latest verified backup into its own namespace.
terraform {
  # Write-only arguments and ephemeral variables.
  required_version = ">= 1.11"
}

variable "kube_context" {
  type        = string
  default     = "test"
  description = "Context of the test cluster in ~/.kube/config."
}

variable "production_namespace" {
  type        = string
  default     = "shop"
  description = "The namespace production backs up."
}

variable "target_namespace" {
  type    = string
  default = "shop-test"
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

# A key of the test environment's own: it reads production's prefix and writes only where a
# restore must, <prefix>/restores/ and <prefix>/kopia/ (see "What the ReadOnly location does").
variable "s3_access_key_id" {
  type = string
}

variable "s3_secret_access_key" {
  type      = string
  sensitive = true
  ephemeral = true
}

variable "s3_secret_access_key_version" {
  type    = number
  default = 1
}

provider "styrmin" {
  config_path    = "~/.kube/config"
  config_context = var.kube_context
}

# Production's bucket and prefix, ReadOnly: Velero in this cluster syncs production's backups in
# but never creates, deletes or expires a backup there.
resource "styrmin_backup_location" "production" {
  name             = "production"
  bucket           = var.bucket
  prefix           = "production"
  region           = "us-east-1"
  endpoint         = var.endpoint
  force_path_style = true
  access_mode      = "ReadOnly"

  # How often Velero lists the bucket for new backups.
  backup_sync_period = "30s"

  access_key_id                = var.s3_access_key_id
  secret_access_key_wo         = var.s3_secret_access_key
  secret_access_key_wo_version = var.s3_secret_access_key_version
}

# The same driver file as production's.
data "styrmin_driver_spec" "app" {
  path = "${path.module}/driver.styrmin.yml"
}

# Production's backups as this cluster sees them (synced from the bucket), each proven for these
# components; latest_verified is the newest proven one.
data "styrmin_backups" "production" {
  location   = styrmin_backup_location.production.name
  namespace  = var.production_namespace
  components = data.styrmin_driver_spec.app.components

  # In the apply that creates the location, Velero syncs the backups in only after it has
  # validated the location: search again for a few sync periods.
  wait_for_verified = "3m"
}

resource "styrmin_restore" "app" {
  backup_name      = data.styrmin_backups.production.latest_verified
  target_namespace = var.target_namespace
  components       = data.styrmin_driver_spec.app.components

  # A newer verified backup replaces this restore: in place, it replaces the components the
  # previous one restored (the plan lists what it deletes).
  in_place = true
}

output "restored_backup" {
  value = styrmin_restore.app.backup_name
}

output "restored" {
  value = {
    for name, r in styrmin_restore.app.restored :
    name => "${r.kind}: ${join(",", r.volumes)}, ${r.bytes} bytes"
  }
}
