//! fgf-tagger: tags Chinese government documents by the 放管服 reform.
//!
//! A document is split into paragraph and sentence spans ([`segment`]), each
//! paragraph gets a role ([`role`]), words come from jieba with a domain
//! dictionary ([`tokenize`]), TF-IDF features ([`features`]) feed one-vs-rest
//! logistic regressions fitted with linfa ([`model`]) over the label schema
//! ([`taxonomy`]). [`tagger`] puts these together for one document;
//! [`service`] and [`server`] expose it over gRPC, [`client`] connects to it; [`train`] builds the model
//! from the labeled [`corpus`] and scores it ([`metrics`]); [`memory`] makes
//! the heap give a large document's memory back.

pub mod auth;
pub mod batch;
pub mod boilerplate;
pub mod client;
pub mod codec;
pub mod compare;
pub mod corpus;
pub mod eval_real;
pub mod features;
pub mod fuzzing;
pub mod layout;
pub mod loadgen;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod model_path;
pub mod normalize;
pub mod protojson;
pub mod role;
pub mod role_compare;
pub mod segment;
pub mod server;
pub mod service;
pub mod soak;
pub mod sparse_linear;
pub mod tagger;
pub mod taxonomy;
pub mod telemetry;
pub mod tls;
pub mod tokenize;
pub mod train;

/// Code generated from `proto/fgf/v1/tagger.proto`.
pub mod pb {
    tonic::include_proto!("fgf.v1");

    /// Encoded descriptor set of the proto, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("fgf_descriptor");
}
