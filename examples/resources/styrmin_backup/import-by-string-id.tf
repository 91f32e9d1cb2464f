import {
  to = styrmin_backup.app
  id = "shop-20250301-020000"
}
