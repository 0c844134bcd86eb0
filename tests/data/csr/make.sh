#!/bin/sh
#
# make.sh: regenerate the CSR fixtures for tests/unit/test_csr.c and
# tests/unit/test_cert.c with the openssl command line tool.  The outputs
# are committed, so the tests never run this; run it by hand from this
# directory when a fixture must change.  Keys are made fresh on each run,
# so every file changes; the tests only depend on the names.
#
# good-*        valid requests that csr_parse() accepts
# bad-*         requests it refuses; the name says which rule fires
# *.der, *.pem  the same request in both forms
#
set -eu

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

subj="/O=fixture/CN=csr"

# req KEYFILE NAME [openssl req options...]: a DER and a PEM request
req() {
	key=$1
	name=$2
	shift 2
	openssl req -new -key "$key" -subj "$subj" -outform DER \
	    -out "$name.der" "$@"
	openssl req -inform DER -in "$name.der" -outform PEM -out "$name.pem"
}

# hexof FILE: the file as one line of lowercase hex
hexof() {
	xxd -p "$1" | tr -d '\n'
}

# Keys of each kind the policy names, accepted or not.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$tmp/p256.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$tmp/p256-other.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
    -out "$tmp/p384.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 \
    -out "$tmp/p521.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:secp256k1 \
    -out "$tmp/k256.key"
openssl genpkey -algorithm ED25519 -out "$tmp/ed25519.key"
openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 \
    -out "$tmp/rsapss.key"
for bits in 1024 2048 3072 4096 8192; do
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$bits \
	    -out "$tmp/rsa$bits.key"
done
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -pkeyopt rsa_keygen_pubexp:3 -out "$tmp/rsa2048-e3.key"
openssl ec -in "$tmp/p256.key" -conv_form compressed \
    -out "$tmp/p256-compressed.key"

# Accepted.
req "$tmp/p256.key" good-p256
req "$tmp/p384.key" good-p384 -sha384
req "$tmp/p384.key" good-p384-sha256 -sha256
req "$tmp/rsa2048.key" good-rsa2048
req "$tmp/rsa3072.key" good-rsa3072 -sha384
req "$tmp/rsa4096.key" good-rsa4096 -sha512
req "$tmp/p256.key" good-p256-ca -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectAltName=URI:spiffe://evil.test/admin,DNS:evil.test"

# Refused for the key.
req "$tmp/rsa1024.key" bad-rsa1024
req "$tmp/rsa8192.key" bad-rsa8192
req "$tmp/rsa2048-e3.key" bad-rsa-e3
req "$tmp/p521.key" bad-p521
req "$tmp/k256.key" bad-secp256k1
req "$tmp/ed25519.key" bad-ed25519
req "$tmp/rsapss.key" bad-rsapss
req "$tmp/p256-compressed.key" bad-p256-compressed

# Refused for the signature algorithm (ECDSA with SHA-512 is not listed).
req "$tmp/p256.key" bad-p256-sha512 -sha512

# One byte of the signature flipped: the last byte of the DER is the last
# byte of s.
len=$(wc -c <good-p256.der)
head -c $((len - 1)) good-p256.der >bad-flipped.der
last=$(tail -c 1 good-p256.der | xxd -p)
printf '%02x' $((0x$last ^ 0x01)) | xxd -r -p >>bad-flipped.der

# The SPKI swapped for another P-256 key's (same length), signature kept.
openssl pkey -in "$tmp/p256.key" -pubout -outform DER -out "$tmp/a.spki"
openssl pkey -in "$tmp/p256-other.key" -pubout -outform DER \
    -out "$tmp/b.spki"
hexof good-p256.der | sed "s/$(hexof "$tmp/a.spki")/$(hexof "$tmp/b.spki")/" |
    xxd -r -p >bad-swapped.der

# The version INTEGER 0 turned into 1 (the first 02 01 00 is it).
hexof good-p256.der | sed 's/020100/020101/' | xxd -r -p >bad-version.der

# Trailing bytes after a good request, a truncated one, and garbage.
cat good-p256.der >bad-trailing.der
printf 'xx' >>bad-trailing.der
head -c $((len - 20)) good-p256.der >bad-truncated.der
head -c 200 /dev/urandom >bad-garbage.der

for f in bad-flipped bad-swapped; do
	openssl req -inform DER -in $f.der -outform PEM -out $f.pem
done
