# The clone story of `make demo`: back up the sample app's production namespace and restore it
# into a clone namespace, replaying every component's data. The provider reads its connection
# from KUBE_CONFIG_PATH (set by `. .sandbox/env`).

variable "production_namespace" {
  type    = string
  default = "demo-production"
}

variable "clone_namespace" {
  type    = string
  default = "demo-clone"
}

variable "backup_location" {
  type        = string
  default     = "default"
  description = "The local stack's backup storage location."
}

provider "styrmin" {}

data "styrmin_driver_spec" "app" {
  path = "${path.module}/../sample-app/driver.styrmin.yml"
}

resource "styrmin_backup" "production" {
  namespace       = var.production_namespace
  backup_location = var.backup_location
  components      = data.styrmin_driver_spec.app.components
  ttl             = "24h"
  deletion_policy = "delete"
}

resource "styrmin_restore" "clone" {
  backup_name      = styrmin_backup.production.name
  target_namespace = var.clone_namespace
  components       = data.styrmin_driver_spec.app.components
}

# The backups of production, each proven again: what a clone's configuration restores from
# (latest_verified) without being handed a name.
data "styrmin_backups" "production" {
  location   = var.backup_location
  namespace  = var.production_namespace
  components = data.styrmin_driver_spec.app.components

  depends_on = [styrmin_backup.production]
}

output "backup" {
  description = "The Velero backup and what it proved it captured, per component."
  value = {
    name  = styrmin_backup.production.name
    phase = styrmin_backup.production.phase
    captured = { for name, c in styrmin_backup.production.captured :
      name => "${c.kind}: ${join(",", c.volumes)} (${c.bytes} bytes)${length(c.checksums) > 0 ? ", sha256 ${substr(c.checksums[0], 0, 12)}..." : ""}"
    }
  }
}

output "restore" {
  description = "The Velero restore into the clone namespace."
  value = {
    name  = styrmin_restore.clone.name
    phase = styrmin_restore.clone.phase
  }
}

output "latest_verified_backup" {
  description = "The newest backup of production that data.styrmin_backups proves."
  value       = data.styrmin_backups.production.latest_verified
}
