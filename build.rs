//! The build script of `crates/fgf-grpc` (its Cargo.toml points here, so the
//! API stays at the top of the checkout): compiles `proto/fgf/v1/tagger.proto` into Rust (messages with prost, client
//! and server with tonic) and writes the encoded descriptor set that server
//! reflection serves. protoc comes from the `protoc-bin-vendored` crate, so no
//! system package is needed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded; nothing else reads the
    // environment while we set it.
    unsafe { std::env::set_var("PROTOC", protoc) };

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    // Run for crates/fgf-grpc: the proto folder is two levels up.
    let proto = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    tonic_prost_build::configure()
        // tonic-prost's codec, but a request that is not UTF-8 is
        // INVALID_ARGUMENT (see crates/fgf-grpc/src/codec.rs).
        .codec_path("crate::codec::FgfCodec")
        .file_descriptor_set_path(out_dir.join("fgf_descriptor.bin"))
        .compile_protos(
            &[proto.join("fgf/v1/tagger.proto")],
            std::slice::from_ref(&proto),
        )?;
    // serde Serialize/Deserialize for every message, in protobuf's JSON
    // mapping (lowerCamelCase names, enums by name, bytes as base64,
    // defaults left out): the JSON over HTTP API and `fgf tag` output.
    let descriptors = std::fs::read(out_dir.join("fgf_descriptor.bin"))?;
    pbjson_build::Builder::new()
        .register_descriptors(&descriptors)?
        .build(&[".fgf.v1"])?;
    println!("cargo:rerun-if-changed={}", proto.display());
    Ok(())
}
