data "styrmin_driver_spec" "app" {
  path = "${path.module}/driver.styrmin.yml"
}

# A backup of the namespace "shop" every night at 03:00 UTC, kept for a week: every component of
# the driver file with its own strategy, as styrmin_backup makes one. The apply makes the first
# backup at once and proves it.
resource "styrmin_backup_schedule" "nightly" {
  name            = "shop-nightly"
  namespace       = "shop"
  backup_location = "production" # e.g. styrmin_backup_location.production.name
  components      = data.styrmin_driver_spec.app.components
  schedule        = "0 3 * * *"
  ttl             = "168h"
}

# The last backup, as refresh found it: "shop-nightly-20261201030012: verified".
output "last_backup" {
  value = "${styrmin_backup_schedule.nightly.last_backup.name}: ${styrmin_backup_schedule.nightly.last_backup.verified ? "verified" : styrmin_backup_schedule.nightly.last_backup.problem}"
}
