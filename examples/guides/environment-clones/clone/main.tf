# The test environment, in its own cluster: reads production's bucket through a ReadOnly location
# and restores one of production's backups into its own namespace.
terraform {
  # Write-only arguments and ephemeral variables.
  required_version = ">= 1.11"
}

variable "kube_context" {
  type        = string
  default     = "test"
  description = "Context of the test cluster in ~/.kube/config."
}

variable "production_backup_name" {
  type        = string
  description = "The backup to restore: the production configuration's backup_name output."
}

variable "target_namespace" {
  type    = string
  default = "shop-test"
}

# A key of the test environment: it reads production's prefix, and writes only the restore logs
# Velero keeps under <prefix>/restores/.
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
  bucket           = "styrmin-backups"
  prefix           = "production"
  region           = "us-east-1"
  endpoint         = "https://minio.example.com:9000"
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

resource "styrmin_restore" "app" {
  backup_name      = var.production_backup_name
  target_namespace = var.target_namespace
  components       = data.styrmin_driver_spec.app.components

  # The backup reaches this cluster through backup sync: allow a few sync periods.
  backup_sync_timeout = "3m"

  # backup_name is a variable, not a reference: without this, the restore could start before
  # the location exists and wait for a backup nothing syncs.
  depends_on = [styrmin_backup_location.production]
}

output "restored" {
  value = {
    for name, r in styrmin_restore.app.restored :
    name => "${r.kind}: ${join(",", r.volumes)}, ${r.bytes} bytes"
  }
}
