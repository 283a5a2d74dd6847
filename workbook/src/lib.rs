//! The workbook tool's library: where the exercises are, how a submission is graded against the
//! hidden suite, and the maintainers' dev check built on that.

pub mod bench;
pub mod class_report;
pub mod contract;
pub mod devcheck;
pub mod drift;
pub mod exercises;
pub mod export;
pub mod grade;
pub mod grader;
pub mod gradescope;
pub mod hints;
pub mod learner;
pub mod manifest;
pub mod pristine;
pub mod report;
pub mod rustc_jail;
pub mod sandbox;
pub mod scorecard;
pub mod similarity;

/// The strings of a JSON array (none if it is not one): how the grader's specs and reports carry
/// lists.
pub(crate) fn json_strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
