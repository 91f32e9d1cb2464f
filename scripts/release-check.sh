#!/usr/bin/env bash
# `make release-check`, after `make release-snapshot`: checks dist/ as a registry reads a release
# (an archive per platform, SHA256SUMS that match, the manifest with the protocol version), then
# installs the provider from its archive through a filesystem mirror (`terraform init
# -plugin-dir`), as a user without registry access would, and runs a plan with it.
# Usage: scripts/release-check.sh TERRAFORM
set -euo pipefail
terraform=$(realpath "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
dist="$repo/dist"
name=terraform-provider-styrmin
platforms="linux_amd64 linux_arm64 darwin_amd64 darwin_arm64 windows_amd64 windows_arm64 freebsd_amd64 freebsd_arm64"

fail() { echo "release-check: $*" >&2; exit 1; }

version=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$dist/metadata.json" | head -n 1)
[ -n "$version" ] || fail "no version in $dist/metadata.json: run make release-snapshot"
sums="${name}_${version}_SHA256SUMS"
manifest="${name}_${version}_manifest.json"

cd "$dist"
[ -f "$sums" ] || fail "$sums missing"
# The manifest is uploaded from terraform-registry-manifest.json under its release name
# (release.extra_files): a snapshot lists its checksum without copying it into dist/.
grep -v " ${manifest}\$" "$sums" | sha256sum --quiet -c - || fail "$sums does not match the archives"
want=$(sha256sum <"$repo/terraform-registry-manifest.json" | cut -d' ' -f1)
grep -qx "$want  $manifest" "$sums" || fail "$sums does not list $manifest with the checksum of terraform-registry-manifest.json"
for platform in $platforms; do
  zip="${name}_${version}_${platform}.zip"
  [ -f "$zip" ] || fail "$zip missing"
  grep -q " ${zip}\$" "$sums" || fail "$sums does not list $zip"
  binary="${name}_v${version}"
  case $platform in windows_*) binary="$binary.exe" ;; esac
  contents=$(go run "$repo/scripts/zipentries" "$zip" | tr '\n' ' ')
  [ "$contents" = "LICENSE $binary " ] || fail "$zip holds '$contents', want LICENSE and $binary"
done
archives=$(ls ./*.zip | wc -l)
[ "$archives" -eq "$(wc -w <<<"$platforms")" ] || fail "$archives archives, want one per platform: $platforms"
echo "ok  $archives archives and $sums match; $manifest listed (version $version)"

# Install from a filesystem mirror (the packed layout: HOSTNAME/NAMESPACE/TYPE/<archive>), with a
# CLI configuration of its own: neither the stack's dev_overrides nor a user's mirror takes part.
case $(uname -m) in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) fail "no archive for $(uname -m)" ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mirror/registry.terraform.io/styrmin/styrmin" "$work/config"
cp "${name}_${version}_linux_${arch}.zip" "$work/mirror/registry.terraform.io/styrmin/styrmin/"
cat >"$work/config/main.tf" <<TF
terraform {
  required_providers {
    styrmin = {
      source  = "styrmin/styrmin"
      version = "$version"
    }
  }
}

provider "styrmin" {}

# Needs no cluster: the driver file is read and checked at plan time.
data "styrmin_driver_spec" "app" {
  path = "$repo/examples/sample-app/driver.styrmin.yml"
}

output "components" {
  value = sort(keys(data.styrmin_driver_spec.app.components))
}
TF
: >"$work/terraformrc"
export TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1
unset TF_CLI_ARGS TF_CLI_ARGS_init TF_CLI_ARGS_plan TF_PLUGIN_CACHE_DIR KUBECONFIG KUBE_CONFIG_PATH KUBE_CONFIG_PATHS
"$terraform" -chdir="$work/config" init -input=false -no-color -plugin-dir="$work/mirror" >"$work/init.log" 2>&1 ||
  { cat "$work/init.log"; fail "terraform init from the mirror failed"; }
grep -q "Installed styrmin/styrmin v$version" "$work/init.log" || { cat "$work/init.log"; fail "init did not install v$version from the mirror"; }
out=$("$terraform" -chdir="$work/config" plan -input=false -no-color 2>&1) || { echo "$out"; fail "terraform plan with the installed provider failed"; }
grep -q '"postgres"' <<<"$out" || { echo "$out"; fail "the plan does not show the driver's components"; }
echo "ok  terraform init -plugin-dir installed styrmin/styrmin v$version (linux_$arch); plan read the driver file"
