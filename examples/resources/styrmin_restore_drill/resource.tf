# Every night, from CI: restore production's latest verified backup into a scratch namespace,
# replay every dump, check the data, and delete the namespace.
data "styrmin_driver_spec" "app" {
  path = "${path.module}/driver.styrmin.yml"
}

data "styrmin_backups" "production" {
  location   = "production"
  namespace  = "shop"
  components = data.styrmin_driver_spec.app.components
}

resource "styrmin_restore_drill" "nightly" {
  backup_name = data.styrmin_backups.production.latest_verified
  components  = data.styrmin_driver_spec.app.components

  checks = {
    postgres = {
      command         = ["sh", "-c", "psql -U shop -d shop -At -c 'select count(*) > 0 from orders'"]
      expected_output = "t"
    }
    uploads = {
      command = ["sh", "-c", "test -s /data/uploads/index.json"]
    }
  }

  # Run again every day even without a new backup.
  triggers = {
    day = formatdate("YYYY-MM-DD", plantimestamp())
  }
}

output "drill" {
  value = "${styrmin_restore_drill.nightly.backup_name}: ${styrmin_restore_drill.nightly.passed ? "passed" : "FAILED"} in ${styrmin_restore_drill.nightly.duration}"
}
