terraform {
  required_providers {
    styrmin = {
      source = "styrmin/styrmin"
    }
  }
}

provider "styrmin" {}
