//! dynasim-engine: one replica of DynamoDB tables, sans-IO.
//!
//! The engine holds tables by name and runs the single-item operations (PutItem,
//! GetItem, UpdateItem, DeleteItem) with DynamoDB's validation rules, expressions and
//! exact error messages (reference §1, §2, §4.1-§4.5), plus (issue #3, §3, §4.6-§4.9,
//! §6.1, §7): the control plane ([`control`]), secondary indexes kept in step with
//! every write ([`index`]), Query and Scan ([`query`]), batches and transactions
//! ([`transact`]), the TTL sweeper ([`ttl`]), streams ([`stream`]) and
//! ConsumedCapacity ([`capacity`]).
//!
//! Invariants: every item change goes through one function (`Table::store`), which
//! updates the indexes, the table size and LSI item collections; every change that
//! alters an item appends one stream record (ST-02, ST-03). Writes of batches and
//! transactions are all checked before any is applied. It has no clock, randomness,
//! I/O or threads: every operation takes the current [`SimTime`](dynasim_core::SimTime)
//! as an argument. Every successful write returns an [`ItemChange`] (old and new image)
//! for streams and replication; [`Engine::apply_replicated`] applies a remote image.
//! Stored items are shared ([`SharedItem`], an `Arc`) with reads, write results and
//! stream records rather than copied into them.
//!
//! ```
//! use dynasim_core::SimTime;
//! use dynasim_engine::*;
//!
//! let mut engine = Engine::default();
//! engine.create_table(CreateTableInput {
//!     table_name: "users".into(),
//!     key_schema: vec![KeySchemaElement { attribute_name: "pk".into(), key_type: KeyType::Hash }],
//!     attribute_definitions: vec![AttributeDefinition {
//!         attribute_name: "pk".into(),
//!         attribute_type: ScalarAttributeType::S,
//!     }],
//!     ..Default::default()
//! }, SimTime::ZERO).unwrap();
//! let item: Item = [("pk".to_string(), AttributeValue::s("u1")), ("n".to_string(), AttributeValue::n("1"))]
//!     .into_iter().collect();
//! let put = engine.put_item(PutItemInput { table_name: "users".into(), item, ..Default::default() }, SimTime::ZERO).unwrap();
//! assert!(put.change.old_image.is_none());
//! let got = engine.get_item(&GetItemInput {
//!     table_name: "users".into(),
//!     key: put.change.key_attrs.clone(),
//!     ..Default::default()
//! }, SimTime::ZERO).unwrap();
//! assert_eq!(got.item.unwrap()["n"], AttributeValue::n("1"));
//! ```

pub mod api;
pub mod attr_map;
pub mod bench;
pub mod capacity;
pub mod config;
pub mod control;
pub mod decrease;
pub mod engine;
pub mod error;
pub mod expr;
pub mod fuzz;
pub mod index;
pub mod key;
mod keymap;
pub mod number;
pub mod query;
pub mod size;
pub mod stored;
pub mod stream;
pub mod transact;
pub mod ttl;
pub mod value;

pub use api::*;
pub use attr_map::AttrMap;
pub use capacity::{Capacity, CapacityMode, ConsumedCapacity, read_units, write_units};
pub use config::{EngineConfig, NumberSizeModel, StringSizeUnit};
pub use decrease::DecreaseBudget;
pub use engine::{
    BillingMode, Engine, ItemChange, Table, TtlState, WriteOutcome, validate_table_name,
};
pub use error::{CancellationReason, EngineError, ErrorKind};
pub use index::{IndexKind, ProjectionSpec, SecondaryIndex};
pub use key::{
    AttributeDefinition, ItemKey, KeyAttribute, KeySchema, KeySchemaElement, KeyType,
    ScalarAttributeType, key_attributes,
};
pub use number::Number;
pub use query::{QueryInput, QueryOutput, ScanInput, ScanOutput};
pub use size::{ITEM_BYTES_MAX, item_size};
pub use stored::SharedItem;
pub use stream::*;
pub use transact::*;
pub use value::{AttributeValue, Item, ValueType, validate_attribute_name, validate_item};
