# The application's driver file: its components and how each one is backed up.
data "styrmin_driver_spec" "app" {
  path = "${path.module}/driver.styrmin.yml"
}

# One verified backup of the namespace "shop": every component of the driver file, each with its
# own strategy (a pg_dump for PostgreSQL, the named volumes for a disk component, ...).
resource "styrmin_backup" "app" {
  namespace       = "shop"
  backup_location = "production" # e.g. styrmin_backup_location.production.name
  components      = data.styrmin_driver_spec.app.components
  ttl             = "168h"
}

# The Velero backup's name, for a restore in another configuration.
output "backup_name" {
  value = styrmin_backup.app.name
}

# What was captured, per component: "postgres: postgres-dump, 48213 bytes".
output "captured" {
  value = {
    for name, c in styrmin_backup.app.captured :
    name => "${c.kind}: ${join(",", c.volumes)}, ${c.bytes} bytes"
  }
}
