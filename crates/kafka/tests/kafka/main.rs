//! supra-sync-kafka against a real Kafka-protocol broker: librdkafka's mock cluster, which
//! listens on loopback TCP ports and speaks the Kafka protocol. One binary, one module per action.

mod kcat;
mod publish;
mod replay;
mod support;
