data "styrmin_driver_spec" "app" {
  path = "${path.module}/driver.styrmin.yml"
}

resource "styrmin_backup" "app" {
  namespace       = "shop"
  backup_location = "production"
  components      = data.styrmin_driver_spec.app.components
}

# A clone of "shop" as it was at backup time, in the new namespace "shop-clone": Velero recreates
# the namespace's resources and volumes, then each component's dump is replayed into its database.
resource "styrmin_restore" "clone" {
  backup_name      = styrmin_backup.app.name
  target_namespace = "shop-clone"
  components       = data.styrmin_driver_spec.app.components
}

output "restored" {
  value = {
    for name, r in styrmin_restore.clone.restored :
    name => "${r.kind}: ${join(",", r.pods)}, ${r.bytes} bytes"
  }
}
