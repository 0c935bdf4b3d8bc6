//! fgf-train: builds and judges the fgf-tagger model.
//!
//! [`corpus`] loads and checks the labeled corpus; [`fit`] fits a
//! `fgf_core::model::Model` with [`sparse_linear`] (a linfa algorithm on
//! sparse rows), calibrates it and tunes its thresholds; [`train`] is
//! `fgf train` / `fgf eval` (the test report). The comparisons:
//! [`compare`] (`fgf compare`, approaches by cross-validation, with
//! [`naive_bayes`] for its naive Bayes row),
//! [`role_compare`] (`fgf compare-roles`), [`layout`] (`fgf eval-layout`,
//! paragraph reconstruction) and [`eval_real`] (`fgf eval-real`, real
//! documents against line-level gold). The server never uses this crate.

pub mod boilerplate_check;
pub mod compare;
pub mod corpus;
pub mod eval_real;
pub mod fit;
pub mod folds;
pub mod layout;
pub mod naive_bayes;
pub mod role_compare;
pub mod sparse_linear;
pub mod train;
