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

  # Read after every backup this configuration makes, so that the plan after the apply is quiet.
  depends_on = [styrmin_backup.production, styrmin_backup_schedule.production]
}

# Production's nightly backups, each made and proven as styrmin_backup's. Made after the clone,
# since selecting the volumes on the workloads' pod templates rolls production's pods once.
resource "styrmin_backup_schedule" "production" {
  name            = "${var.production_namespace}-nightly"
  namespace       = var.production_namespace
  backup_location = var.backup_location
  components      = data.styrmin_driver_spec.app.components
  schedule        = "0 3 * * *"
  ttl             = "24h"

  depends_on = [styrmin_restore.clone]
}

# The schedule's last backup, restored into a scratch namespace of its own, replayed and checked.
resource "styrmin_restore_drill" "nightly" {
  backup_name = styrmin_backup_schedule.production.last_backup.name
  components  = data.styrmin_driver_spec.app.components

  checks = {
    postgres = {
      command         = ["sh", "-c", "psql -X -U app -d app -At -c 'select count(*) from customers'"]
      expected_output = "3"
    }
    mariadb = {
      command         = ["sh", "-c", "MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\" mariadb -uroot -N -B app -e 'select count(*) from orders'"]
      expected_output = "3"
    }
  }
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

output "scheduled_backup" {
  description = "The schedule's last backup, as refresh proves it."
  value       = "${styrmin_backup_schedule.production.last_backup.name}: ${styrmin_backup_schedule.production.last_backup.verified ? "verified" : styrmin_backup_schedule.production.last_backup.problem}"
}

output "drill" {
  description = "The restore drill of the schedule's last backup."
  value       = "${styrmin_restore_drill.nightly.backup_name}: ${styrmin_restore_drill.nightly.passed ? "passed" : "FAILED"} in ${styrmin_restore_drill.nightly.duration}"
}
