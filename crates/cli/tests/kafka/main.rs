//! supra-sync with Kafka, end to end: the binary against librdkafka's mock cluster (the Kafka
//! protocol on loopback TCP) and real PostgreSQL clusters; and the docker-compose file,
//! validated without Docker. One binary, one module per action.

mod capture;
mod compare;
mod compose;
mod errors;
mod replay;
mod support;
mod workload;
