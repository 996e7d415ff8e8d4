#!/usr/bin/env bash
# Start of the compose stack's Kafka (apache/kafka image): formats the storage once with the
# SCRAM credentials of the broker, the setup admin and each service (KRaft keeps them in its
# metadata log, so they must be there before the first start: KIP-900), writes the admin's
# client config for the healthcheck, then hands over to the image's own start script, which
# renders server.properties from the KAFKA_* environment.
set -euo pipefail

: "${CLUSTER_ID:?}" "${KAFKA_LOG_DIRS:?}" "${SCRAM_ADMIN_USERNAME:?}"
: "${SCRAM_BROKER_PASSWORD:?}" "${SCRAM_ADMIN_PASSWORD:?}"
: "${SCRAM_ORDERS_PASSWORD:?}" "${SCRAM_DEPOSITS_PASSWORD:?}" "${SCRAM_MESSAGING_PASSWORD:?}"

if [ ! -e "$KAFKA_LOG_DIRS/meta.properties" ]; then
  format_config=$(mktemp)
  cat > "$format_config" <<PROPERTIES
process.roles=$KAFKA_PROCESS_ROLES
node.id=$KAFKA_NODE_ID
controller.quorum.voters=$KAFKA_CONTROLLER_QUORUM_VOTERS
controller.listener.names=$KAFKA_CONTROLLER_LISTENER_NAMES
listeners=$KAFKA_LISTENERS
advertised.listeners=$KAFKA_ADVERTISED_LISTENERS
inter.broker.listener.name=$KAFKA_INTER_BROKER_LISTENER_NAME
sasl.enabled.mechanisms=$KAFKA_SASL_ENABLED_MECHANISMS
listener.name.controller.sasl.enabled.mechanisms=$KAFKA_LISTENER_NAME_CONTROLLER_SASL_ENABLED_MECHANISMS
sasl.mechanism.inter.broker.protocol=$KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL
sasl.mechanism.controller.protocol=$KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL
listener.security.protocol.map=$KAFKA_LISTENER_SECURITY_PROTOCOL_MAP
log.dirs=$KAFKA_LOG_DIRS
PROPERTIES
  /opt/kafka/bin/kafka-storage.sh format --cluster-id "$CLUSTER_ID" -c "$format_config" \
    --add-scram "SCRAM-SHA-512=[name=broker,password=$SCRAM_BROKER_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$SCRAM_ADMIN_USERNAME,password=$SCRAM_ADMIN_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=orders,password=$SCRAM_ORDERS_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=deposits,password=$SCRAM_DEPOSITS_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=messaging,password=$SCRAM_MESSAGING_PASSWORD]"
  rm -f "$format_config"
fi

umask 077
cat > /tmp/daiko-admin.properties <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SCRAM_ADMIN_USERNAME" password="$SCRAM_ADMIN_PASSWORD";
PROPERTIES

exec /etc/kafka/docker/run
