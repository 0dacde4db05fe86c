#!/usr/bin/env bash
# Downloads the target package and verifies its sha256 against the version's manifest.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version

base="${FU_ARTIFACT_BASE_URL:-}"
[[ "$base" =~ ^https?://[A-Za-z0-9.:/_~-]+$ ]] || fail 2 "FU_ARTIFACT_BASE_URL is not a URL: '$base'"
v="$FU_TARGET_VERSION"
name="$(package_name "$v")"
dir="$(download_dir "$v")"
if [ -f "$dir/$name.verified" ] && [ -f "$dir/$name" ]; then
  emit "{\"sha256\":\"$(cat "$dir/$name.verified")\",\"bytes\":$(stat -c %s "$dir/$name"),\"cached\":true}"
  exit 0
fi
mkdir -p "$dir"
curl_args=(-fsS --retry 3 --connect-timeout 10 --max-time 1800)
if [ -n "${HTTPS_PROXY:-}" ]; then curl_args+=(--proxy "$HTTPS_PROXY"); fi
tmp="$(mktemp -d "$dir/.partial.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
curl "${curl_args[@]}" -o "$tmp/SHA256SUMS" "$base/$v/SHA256SUMS" || fail 4 "cannot download the manifest $base/$v/SHA256SUMS"
curl "${curl_args[@]}" -o "$tmp/$name" "$base/$v/$name" || fail 4 "cannot download $base/$v/$name"
expected="$(awk -v f="$name" '$2 == f || $2 == "*" f { print $1 }' "$tmp/SHA256SUMS" | head -n 1)"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || fail 4 "the manifest has no sha256 for $name"
actual="$(sha256sum "$tmp/$name" | awk '{ print $1 }')"
[ "$expected" = "$actual" ] || fail 4 "checksum mismatch for $name: expected $expected, got $actual"
mv "$tmp/$name" "$dir/$name"
printf '%s\n' "$actual" >"$dir/$name.verified"
emit "{\"sha256\":\"$actual\",\"bytes\":$(stat -c %s "$dir/$name")}"
