//! Errors, split by what the caller should do about them.
//!
//! * [`KafkaError::Transient`]: the broker or the network is (temporarily) unavailable. Nothing
//!   was confirmed; retrying the same call later is safe and is what the caller should do.
//! * [`KafkaError::Definite`]: retrying the same input will fail the same way (bad
//!   configuration, record too large, authorization denied, malformed record). It needs an
//!   operator or goes to the failure log.
//! * [`EnvelopeError`]: a record that is not a valid supra-sync envelope (decoding only).

/// An error from the publisher or the replay consumer.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// Temporary failure: nothing was confirmed, the same call may be retried.
    #[error("kafka unavailable: {message}")]
    Transient {
        /// What failed (PostgreSQL-style primary message).
        message: String,
        /// The underlying client error, when there is one.
        #[source]
        source: Option<Box<rdkafka::error::KafkaError>>,
    },
    /// Permanent failure for this input or configuration: retrying will not help.
    #[error("kafka error: {message}")]
    Definite {
        /// What failed (PostgreSQL-style primary message).
        message: String,
        /// A hint for the operator, when one is known.
        hint: Option<String>,
        /// The underlying client error, when there is one.
        #[source]
        source: Option<Box<rdkafka::error::KafkaError>>,
    },
    /// A record could not be encoded or decoded as an envelope.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The replay applier callback failed; the batch was not acknowledged.
    #[error("replay applier failed: {0}")]
    Applier(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl KafkaError {
    /// True when retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, KafkaError::Transient { .. })
    }

    pub(crate) fn definite(message: impl Into<String>, hint: Option<&str>) -> KafkaError {
        KafkaError::Definite {
            message: message.into(),
            hint: hint.map(str::to_string),
            source: None,
        }
    }

    /// Classifies a client error by its consequence.
    pub(crate) fn from_client(context: &str, err: rdkafka::error::KafkaError) -> KafkaError {
        use rdkafka::types::RDKafkaErrorCode as C;
        let code = err.rdkafka_error_code();
        let definite = matches!(
            code,
            Some(
                C::MessageSizeTooLarge
                    | C::InvalidMessageSize
                    | C::InvalidMessage
                    | C::InvalidRecord
                    | C::MessageBatchTooLarge
                    | C::InvalidTopic
                    | C::UnsupportedSASLMechanism
                    | C::TopicAuthorizationFailed
                    | C::ClusterAuthorizationFailed
                    | C::GroupAuthorizationFailed
                    | C::TransactionalIdAuthorizationFailed
                    | C::SaslAuthenticationFailed
                    | C::InvalidArgument
                    | C::InvalidConfig
                    | C::UnsupportedVersion
                    | C::UnsupportedCompressionType
                    | C::UnsupportedFeature
                    | C::Authentication
            )
        ) || matches!(err, rdkafka::error::KafkaError::ClientConfig(..));
        let message = format!("{context}: {err}");
        if definite {
            KafkaError::Definite {
                message,
                hint: None,
                source: Some(Box::new(err)),
            }
        } else {
            KafkaError::Transient {
                message,
                source: Some(Box::new(err)),
            }
        }
    }
}

/// A record that is not a valid supra-sync / Debezium envelope.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid envelope: {message}")]
pub struct EnvelopeError {
    /// What is wrong, naming the field.
    pub message: String,
}

impl EnvelopeError {
    pub(crate) fn new(message: impl Into<String>) -> EnvelopeError {
        EnvelopeError {
            message: message.into(),
        }
    }
}
