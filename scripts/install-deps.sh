#!/usr/bin/env bash
# Installs the Debian packages medvol builds and tests with, if any is missing.
# ITK 5.2 and GDCM 3.0 (headers and libraries), GDCM's and DCMTK's tools (test files), zlib and libdeflate headers,
# CharLS and OpenJPEG (JPEG-LS, JPEG 2000 and HTJ2K decoding), OpenJPH's tools (HTJ2K test files), pigz (dcm2niix -z y
# compresses with it: the .nii.gz size test compares against that file).
set -euo pipefail
packages=(libinsighttoolkit5-dev libgdcm-dev libgdcm-tools dcmtk zlib1g-dev libdeflate-dev libcharls-dev libopenjp2-7-dev openjph-tools pigz libsqlite3-dev)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "Installing Debian packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
