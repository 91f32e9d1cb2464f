# An application's driver file: its components and how each one is backed up.
data "styrmin_driver_spec" "app" {
  path = "${path.module}/driver.styrmin.yml"
}

output "driver" {
  value = "${data.styrmin_driver_spec.app.name} ${data.styrmin_driver_spec.app.version}"
}

output "components" {
  value = keys(data.styrmin_driver_spec.app.components)
}
