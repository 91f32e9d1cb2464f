import {
  to = styrmin_restore.clone
  id = "shop-clone-restore-20250301-020500-k2x9"
}
