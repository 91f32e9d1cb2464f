# A backup storage location is imported by "<velero namespace>/<name>".
terraform import styrmin_backup_location.production velero/production
