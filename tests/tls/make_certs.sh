#!/usr/bin/env bash
# Makes a throwaway PKI for the TLS tests in directory $1 (nothing secret is
# committed): a CA, a server certificate for localhost/127.0.0.1/::1, one for
# another host name, an expired one, one for the SNI name alt.test, a client
# certificate, and a second CA that nobody trusts.
set -euo pipefail
d=$1
mkdir -p "$d"
cd "$d"
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # name
  ec "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 3 -subj "/CN=$1" 2>/dev/null
}
leaf() { # name ca san days [clientAuth]
  ec "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  {
    echo "subjectAltName=$3"
    echo "extendedKeyUsage=${5:-serverAuth}"
  } > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
    -out "$1.pem" -days "$4" -extfile "$1.ext" 2>/dev/null
}
ca ca
ca otherca
leaf server ca "DNS:localhost,IP:127.0.0.1,IP:::1" 2
leaf wronghost ca "DNS:not-this-host.example" 2
leaf alt ca "DNS:alt.test" 2
leaf client ca "DNS:client" 2 clientAuth
leaf untrusted otherca "DNS:localhost,IP:127.0.0.1" 2
# Expired: valid from 10 days ago to 5 days ago.
ec expired.key
openssl req -new -key expired.key -out expired.csr -subj "/CN=expired" 2>/dev/null
echo "subjectAltName=DNS:localhost,IP:127.0.0.1" > expired.ext
if openssl x509 -req -in expired.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out expired.pem \
     -not_before "$(date -u -d '10 days ago' +%Y%m%d%H%M%SZ)" \
     -not_after "$(date -u -d '5 days ago' +%Y%m%d%H%M%SZ)" -extfile expired.ext 2>/dev/null; then :
else
  # OpenSSL < 3.4 has no -not_before: sign with the test CA via `ca`.
  mkdir -p camdb && : > camdb/index.txt && echo 01 > camdb/serial
  cat > camdb/ca.cnf <<CNF
[ca]
default_ca = d
[d]
database = camdb/index.txt
serial = camdb/serial
new_certs_dir = camdb
default_md = sha256
policy = p
copy_extensions = copy
[p]
commonName = supplied
CNF
  openssl ca -batch -config camdb/ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
    -out expired.pem -startdate "$(date -u -d '10 days ago' +%Y%m%d%H%M%SZ)" \
    -enddate "$(date -u -d '5 days ago' +%Y%m%d%H%M%SZ)" -extfile expired.ext -notext 2>/dev/null
fi
echo "certificates in $d"
