import {
  to = styrmin_backup_location.production
  id = "velero/production"
}
