# Components written inline, in the shape of the driver file's backup blocks (a single `volume`
# is written as `volumes`, `database` as `databases`).
resource "styrmin_backup" "app" {
  namespace       = "shop"
  backup_location = "production"
  ttl             = "72h"
  deletion_policy = "delete" # destroy removes the backup's data from the bucket

  components = {
    # pg_dump into the dump volume; credentials from the container's environment.
    postgres = {
      selector = { "app.kubernetes.io/component" = "postgres" }
      backup   = { kind = "postgres", volumes = ["postgres-dump"] }
    }
    # The volume as it is: files that are safe to copy while the application runs.
    uploads = {
      selector = { "app.kubernetes.io/component" = "files" }
      backup   = { kind = "disk", volumes = ["files-data"] }
    }
    # The application's own export and import commands.
    notes = {
      selector = { "app.kubernetes.io/component" = "notes" }
      backup = {
        kind            = "action"
        container       = "notes"
        volumes         = ["notes-export"]
        backup_command  = ["/bin/sh", "-c", "tar -C /data -cf /export/notes.tar ."]
        restore_command = ["/bin/sh", "-c", "tar -C /data -xf /export/notes.tar"]
        timeout         = "2m"
      }
    }
    # Stateless: nothing to back up.
    server = {
      selector = { "app.kubernetes.io/component" = "server" }
      backup   = { enabled = false }
    }
  }
}
