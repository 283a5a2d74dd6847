//! The workbook tool's library: where the exercises are, how a submission is graded against the
//! hidden suite, and the maintainers' dev check built on that.

pub mod bench;
pub mod class_report;
pub mod devcheck;
pub mod drift;
pub mod exercises;
pub mod export;
pub mod grade;
pub mod grader;
pub mod gradescope;
pub mod learner;
pub mod manifest;
pub mod report;
pub mod rustc_jail;
pub mod sandbox;
pub mod similarity;
