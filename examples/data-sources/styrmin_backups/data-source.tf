# Production's backups of the last week, newest first, each proven for the driver's components.
data "styrmin_driver_spec" "app" {
  path = "${path.module}/driver.styrmin.yml"
}

data "styrmin_backups" "production" {
  location   = "production"
  namespace  = "shop"
  components = data.styrmin_driver_spec.app.components
  newer_than = "168h"
}

# Staging follows production's latest verified backup: each newer one replaces this restore,
# and in place it replaces the components the previous one restored.
resource "styrmin_restore" "staging" {
  backup_name      = data.styrmin_backups.production.latest_verified
  target_namespace = "shop-staging"
  components       = data.styrmin_driver_spec.app.components
  in_place         = true
}

output "backups" {
  value = [for b in data.styrmin_backups.production.backups :
    "${b.name} ${b.phase} ${b.started_at}: ${b.verified ? "verified" : b.problem}"
  ]
}
