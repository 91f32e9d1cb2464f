# A restore is imported by the name of its Velero restore (or <velero namespace>/<name>).
terraform import styrmin_restore.clone shop-clone-restore-20250301-020500-k2x9
