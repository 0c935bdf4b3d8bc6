//! fgf-grpc: the gRPC face of fgf-tagger.
//!
//! [`pb`] is the code generated from `proto/`; [`codec`] is its codec.
//! [`service`] implements the API thin over `fgf_core::tagger`: it checks
//! each request ([`request`], within [`limits`]), runs it when a CPU slot is
//! free (load shedding in `service::scheduler`) and converts the result
//! ([`convert`]).
//! [`server`] serves it (health, reflection, graceful shutdown, model
//! reload) with [`auth`] and [`tls`]; [`telemetry`] is its Prometheus
//! metrics, [`logging`] its log format and access log, [`memory`] makes the
//! heap give a large document's memory back. [`client`] connects to a
//! server; [`status`] names status codes; [`fuzzing`] drives the service
//! from the fuzz targets. Nothing here trains a model.

pub mod auth;
pub mod client;
pub mod codec;
pub mod convert;
pub mod fuzzing;
pub mod http;
pub mod huge_pages;
pub mod json;
pub mod limits;
pub mod logging;
pub mod memory;
pub mod request;
pub mod server;
pub mod service;
pub mod status;
pub mod telemetry;
pub mod tls;
pub mod web;

/// Code generated from `proto/fgf/v1/tagger.proto`.
pub mod pb {
    tonic::include_proto!("fgf.v1");
    // serde in protobuf's JSON mapping (pbjson-build, see build.rs).
    include!(concat!(env!("OUT_DIR"), "/fgf.v1.serde.rs"));

    /// Encoded descriptor set of the proto, served by reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("fgf_descriptor");
}
