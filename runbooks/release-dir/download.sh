#!/usr/bin/env bash
# Downloads the target package and proves it authentic before anything is installed: its detached Ed25519
# signature must verify against the key pinned in the SSM document (FU_PACKAGE_KEY); SHA256SUMS, served
# beside it, only catches corruption.
set -euo pipefail
# The directory this script is in, without starting a process (every step runs this line).
fu_here="${BASH_SOURCE[0]%/*}"; [[ "${BASH_SOURCE[0]}" == */* ]] || fu_here=.
# shellcheck source=lib.sh
. "$fu_here/lib.sh"
require_target_version

base="${FU_ARTIFACT_BASE_URL:-}"
# https only; plain http just for the local rehearsal's repository on loopback (as the document's allowedPattern).
url_re='^(https://[A-Za-z0-9.-]+|http://(127\.0\.0\.1|localhost))(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$'
[[ "$base" =~ $url_re ]] || fail 2 "FU_ARTIFACT_BASE_URL is not an https URL: '$base'"
key="${FU_PACKAGE_KEY:-}"
# An Ed25519 public key as base64 DER: a fixed 12-byte prefix and the 32 key bytes.
[[ "$key" =~ ^MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$ ]] || fail 2 "FU_PACKAGE_KEY is not an Ed25519 public key (the stack's packageSigningPublicKey)"
v="$FU_TARGET_VERSION"
name="$(package_name "$v")"
dir="$(download_dir "$v")"
# The marker names the key the package was verified with: a new pinned key verifies the package anew.
if [ -f "$dir/$name" ] && [ -f "$dir/$name.verified" ] && read -r cached_sha cached_key <"$dir/$name.verified" && [ "$cached_key" = "$key" ]; then
  emit "{\"sha256\":\"$cached_sha\",\"bytes\":$(stat -c %s "$dir/$name"),\"cached\":true}"
  exit 0
fi
command -v openssl >/dev/null || fail 4 "openssl (3.0 or later) is needed to verify the package signature"
mkdir -p "$dir"
rm -f "$dir/$name.verified"
curl_args=(-fsS --retry 3 --connect-timeout 10 --max-time 1800)
if [ -n "${HTTPS_PROXY:-}" ]; then curl_args+=(--proxy "$HTTPS_PROXY"); fi
tmp="$(mktemp -d "$dir/.partial.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
curl "${curl_args[@]}" -o "$tmp/SHA256SUMS" "$base/$v/SHA256SUMS" || fail 4 "cannot download the manifest $base/$v/SHA256SUMS"
curl "${curl_args[@]}" -o "$tmp/$name" "$base/$v/$name" || fail 4 "cannot download $base/$v/$name"
curl "${curl_args[@]}" -o "$tmp/$name.sig" "$base/$v/$name.sig" || fail 5 "cannot download the signature $base/$v/$name.sig: a package without its signature is not installed"
expected="$(awk -v f="$name" '$2 == f || $2 == "*" f { print $1 }' "$tmp/SHA256SUMS" | head -n 1)"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || fail 4 "the manifest has no sha256 for $name"
actual="$(sha256sum "$tmp/$name" | awk '{ print $1 }')"
[ "$expected" = "$actual" ] || fail 4 "checksum mismatch for $name: expected $expected, got $actual"
printf -- '-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n' "$key" >"$tmp/package-key.pem"
if ! openssl pkeyutl -verify -pubin -inkey "$tmp/package-key.pem" -rawin -in "$tmp/$name" -sigfile "$tmp/$name.sig" >"$tmp/openssl.out" 2>&1; then
  # openssl says "Signature Verification Failure" for a wrong signature; anything else is openssl itself failing.
  grep -q 'Signature Verification Failure' "$tmp/openssl.out" ||
    fail 5 "openssl could not check the signature of $name (OpenSSL 3.0 or later is needed): $(head -n 1 "$tmp/openssl.out")"
  fail 5 "signature check failed for $name: $base/$v/$name.sig is not a signature by the pinned package key (packageSigningPublicKey); the package was not kept and nothing on this node changed"
fi
mv "$tmp/$name" "$dir/$name"
printf '%s %s\n' "$actual" "$key" >"$dir/$name.verified"
emit "{\"sha256\":\"$actual\",\"bytes\":$(stat -c %s "$dir/$name")}"
