# A backup is imported by the name of its Velero backup (or <velero namespace>/<name>).
terraform import styrmin_backup.app shop-20250301-020000
