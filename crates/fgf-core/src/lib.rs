//! fgf-core: the engine of fgf-tagger, with no server and no training in it.
//!
//! A document is split into paragraph and sentence spans ([`spans`]), each
//! paragraph gets a role ([`role`], then the learned check of
//! [`boilerplate`]), words come from jieba with a domain dictionary
//! ([`tokenize`], over the text [`normalize`] prepares), terms and TF-IDF
//! vectors from [`features`] (hashed by [`term_hash`], looked up in a
//! [`term_table`]), and the model file
//! ([`model`]) scores them over the label schema ([`taxonomy`]).
//! [`tagger`] puts these together for one document. [`evaluation`] holds
//! precision / recall / F1 (stored in the model file); [`model_path`] says
//! where the model file is when a command does not.
//!
//! Invariant: every offset this crate returns (spans, evidence) points into
//! the text it was given, in bytes and in chars, whatever normalisation did.

pub mod boilerplate;
pub mod evaluation;
pub mod features;
pub mod model;
pub mod model_path;
pub mod normalize;
mod prefetch;
pub mod role;
pub mod spans;
pub mod tagger;
pub mod taxonomy;
pub mod term_hash;
pub mod term_table;
pub mod tokenize;
