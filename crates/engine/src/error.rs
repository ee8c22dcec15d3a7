//! The one error type of the engine: DynamoDB's `__type` short name, its exact message,
//! HTTP status and retryability (reference §2.2), so an HTTP front end can render it.

use crate::value::Item;
use std::fmt;

/// DynamoDB error names (the part of `__type` after `#`), reference §2.2 and WP-04.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorKind {
    ValidationException,
    SerializationException,
    ConditionalCheckFailedException,
    ResourceNotFoundException,
    ResourceInUseException,
    ProvisionedThroughputExceededException,
    ThrottlingException,
    RequestLimitExceeded,
    LimitExceededException,
    ItemCollectionSizeLimitExceededException,
    TransactionConflictException,
    TransactionCanceledException,
    TransactionInProgressException,
    IdempotentParameterMismatchException,
    ReplicatedWriteConflictException,
    AccessDeniedException,
    UnrecognizedClientException,
    MissingAuthenticationTokenException,
    IncompleteSignatureException,
    InternalServerError,
    ServiceUnavailable,
    /// DynamoDB Streams: a shard iterator older than 15 minutes (ST-08).
    ExpiredIteratorException,
    /// DynamoDB Streams: a position before the trim horizon (ST-08).
    TrimmedDataAccessException,
}

impl ErrorKind {
    /// The short name clients match on, e.g. `ValidationException`.
    pub fn name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            ValidationException => "ValidationException",
            SerializationException => "SerializationException",
            ConditionalCheckFailedException => "ConditionalCheckFailedException",
            ResourceNotFoundException => "ResourceNotFoundException",
            ResourceInUseException => "ResourceInUseException",
            ProvisionedThroughputExceededException => "ProvisionedThroughputExceededException",
            ThrottlingException => "ThrottlingException",
            RequestLimitExceeded => "RequestLimitExceeded",
            LimitExceededException => "LimitExceededException",
            ItemCollectionSizeLimitExceededException => "ItemCollectionSizeLimitExceededException",
            TransactionConflictException => "TransactionConflictException",
            TransactionCanceledException => "TransactionCanceledException",
            TransactionInProgressException => "TransactionInProgressException",
            IdempotentParameterMismatchException => "IdempotentParameterMismatchException",
            ReplicatedWriteConflictException => "ReplicatedWriteConflictException",
            AccessDeniedException => "AccessDeniedException",
            UnrecognizedClientException => "UnrecognizedClientException",
            MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            IncompleteSignatureException => "IncompleteSignatureException",
            InternalServerError => "InternalServerError",
            ServiceUnavailable => "ServiceUnavailable",
            ExpiredIteratorException => "ExpiredIteratorException",
            TrimmedDataAccessException => "TrimmedDataAccessException",
        }
    }

    /// The full `__type` prefix (WP-04): validation and serialization errors come from
    /// the Coral framework, the rest from the DynamoDB service namespace.
    pub fn type_prefix(self) -> &'static str {
        match self {
            ErrorKind::ValidationException => "com.amazon.coral.validate#",
            ErrorKind::SerializationException
            | ErrorKind::AccessDeniedException
            | ErrorKind::UnrecognizedClientException
            | ErrorKind::MissingAuthenticationTokenException
            | ErrorKind::IncompleteSignatureException => "com.amazon.coral.service#",
            _ => "com.amazonaws.dynamodb.v20120810#",
        }
    }

    /// HTTP status: 400 for everything but the two server-side errors.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InternalServerError => 500,
            ErrorKind::ServiceUnavailable => 503,
            _ => 400,
        }
    }

    /// The developer guide's "OK to retry" column (§2.2).
    pub fn retryable(self) -> bool {
        use ErrorKind::*;
        matches!(
            self,
            ProvisionedThroughputExceededException
                | ThrottlingException
                | RequestLimitExceeded
                | LimitExceededException
                | ItemCollectionSizeLimitExceededException
                | TransactionConflictException
                | TransactionInProgressException
                | ReplicatedWriteConflictException
                | UnrecognizedClientException
                | InternalServerError
                | ServiceUnavailable
        )
    }

    /// Name of the message field in the JSON error body (WP-05).
    pub fn message_field(self) -> &'static str {
        match self {
            ErrorKind::TransactionCanceledException
            | ErrorKind::TransactionInProgressException
            | ErrorKind::IdempotentParameterMismatchException => "Message",
            _ => "message",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A DynamoDB error as a value: kind, exact message, and for
/// ConditionalCheckFailedException the current item when
/// `ReturnValuesOnConditionCheckFailure=ALL_OLD` asked for it (IT-06).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct EngineError {
    pub kind: ErrorKind,
    pub message: String,
    pub item: Option<Item>,
    /// TransactionCanceledException's per-action reasons, in request order (TX-09).
    pub cancellation_reasons: Vec<CancellationReason>,
}

/// One entry of `CancellationReasons` (TX-09): Code `None` for an action without error.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancellationReason {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<Item>,
}

impl EngineError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> EngineError {
        EngineError {
            kind,
            message: message.into(),
            item: None,
            cancellation_reasons: Vec::new(),
        }
    }
    pub fn validation(message: impl Into<String>) -> EngineError {
        EngineError::new(ErrorKind::ValidationException, message)
    }
    pub fn serialization(message: impl Into<String>) -> EngineError {
        EngineError::new(ErrorKind::SerializationException, message)
    }
    /// "Requested resource not found" (§2.2).
    pub fn resource_not_found() -> EngineError {
        EngineError::new(
            ErrorKind::ResourceNotFoundException,
            "Requested resource not found",
        )
    }
    /// "The conditional request failed" (EX-22), with the old item if asked (IT-06).
    pub fn conditional_check_failed(item: Option<Item>) -> EngineError {
        EngineError {
            kind: ErrorKind::ConditionalCheckFailedException,
            message: "The conditional request failed".to_string(),
            item,
            cancellation_reasons: Vec::new(),
        }
    }
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }
    pub fn retryable(&self) -> bool {
        self.kind.retryable()
    }
    /// The full `__type` string, e.g. `com.amazon.coral.validate#ValidationException`.
    pub fn type_name(&self) -> String {
        format!("{}{}", self.kind.type_prefix(), self.kind.name())
    }
    /// The JSON error body DynamoDB sends (WP-04, WP-05).
    pub fn to_json_body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert("__type".into(), serde_json::Value::String(self.type_name()));
        body.insert(
            self.kind.message_field().into(),
            serde_json::Value::String(self.message.clone()),
        );
        if !self.cancellation_reasons.is_empty() {
            body.insert(
                "CancellationReasons".into(),
                serde_json::to_value(&self.cancellation_reasons).expect("reasons serialize"),
            );
        }
        if let Some(item) = &self.item {
            body.insert(
                "Item".into(),
                serde_json::to_value(item).expect("items always serialize"),
            );
        }
        serde_json::Value::Object(body)
    }
}
