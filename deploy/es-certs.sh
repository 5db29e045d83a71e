#!/bin/bash
# One-shot TLS set-up for Elasticsearch (docker-compose.yml, service `es-certs`), run in the
# Elasticsearch image with its own elasticsearch-certutil:
#   - a private CA, whose key stays in the volume es-ca-key (mounted here only);
#   - a certificate for the node `elasticsearch` signed by it, in the volume es-certs
#     (mounted read-only into Elasticsearch at config/certs);
#   - the CA certificate alone in the volume es-ca, which the sohoa containers mount at /certs
#     and verify the server with (SOHOA_SEARCH_CA).
# Existing certificates are kept, so this is safe to run on every start.
set -euo pipefail
cd /usr/share/elasticsearch

if [ ! -f /ca-key/ca/ca.key ]; then
  bin/elasticsearch-certutil ca --silent --pem --days 3650 --out /ca-key/ca.zip
  unzip -q -o /ca-key/ca.zip -d /ca-key  # ca/ca.crt, ca/ca.key
  rm /ca-key/ca.zip
fi
if [ ! -f /certs/elasticsearch/elasticsearch.key ]; then
  cat > /ca-key/instances.yml <<'YAML'
instances:
  - name: elasticsearch
    dns: [elasticsearch, localhost]
    ip: [127.0.0.1]
YAML
  bin/elasticsearch-certutil cert --silent --pem --days 1095 --in /ca-key/instances.yml \
    --ca-cert /ca-key/ca/ca.crt --ca-key /ca-key/ca/ca.key --out /ca-key/node.zip
  unzip -q -o /ca-key/node.zip -d /certs  # elasticsearch/elasticsearch.crt, .key
  rm /ca-key/node.zip
fi
mkdir -p /certs/ca
cp /ca-key/ca/ca.crt /certs/ca/ca.crt
cp /ca-key/ca/ca.crt /ca/ca.crt

# Elasticsearch runs as uid 1000 (group 0): it alone reads the node key.
chown -R 1000:0 /certs
chmod 0750 /certs /certs/ca /certs/elasticsearch
chmod 0640 /certs/elasticsearch/elasticsearch.key
chmod 0644 /certs/elasticsearch/elasticsearch.crt /certs/ca/ca.crt /ca/ca.crt
chown -R 0:0 /ca-key && chmod -R go= /ca-key
echo "es-certs: CA and node certificate ready"
