# A schedule is imported by the name of its Velero schedule (or <velero namespace>/<name>). The
# next apply takes the components from the configuration, and makes and proves a backup.
terraform import styrmin_backup_schedule.nightly shop-nightly
