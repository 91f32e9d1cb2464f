import {
  to = styrmin_backup_schedule.nightly
  id = "shop-nightly"
}
