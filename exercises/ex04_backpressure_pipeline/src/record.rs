//! What flows through the pipeline: raw records in, parsed items, enriched items out — and the
//! dead letters for the records that could not be parsed.

/// One raw record, as the source produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Unique per record: every report names a record by its id.
    pub id: u64,
    /// The text to parse: a whole number such as `"42"`.
    pub raw: String,
}

/// A record that passed [`parse`]: what the enrich step receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// The id of the record it came from.
    pub id: u64,
    /// The parsed number.
    pub value: u64,
}

/// An item after the enrich step (the `enrich` function builds it): what the sink receives, in
/// batches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enriched {
    /// The id of the record it came from.
    pub id: u64,
    /// The parsed number.
    pub value: u64,
    /// Whatever the enrich function looked up for the item.
    pub info: String,
}

/// Why a record was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The raw text is empty or only whitespace.
    Empty,
    /// The raw text is not a whole number (`"12x"`, `"1.5"`, `"twelve"`).
    NotANumber,
    /// The raw text is a whole number below zero (`"-3"`).
    Negative,
}

/// A rejected record and the reason: the pipeline's dead-letter output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The record exactly as it was read.
    pub record: Record,
    /// Why it was rejected.
    pub reason: Reason,
}

/// Parses and validates one record.
///
/// The raw text, with surrounding whitespace ignored, must be a whole number of zero or more:
/// `" 42 "` gives `Item { id, value: 42 }`, and so does `"\t42\n"` (any Unicode whitespace).
/// Otherwise the error says why: [`Reason::Empty`] for empty or blank text, [`Reason::Negative`]
/// for a whole number below zero, [`Reason::NotANumber`] for anything else (`"-"`, `"-x"` and
/// `"-1.5"` too).
///
/// Every whole number up to `u64::MAX` is accepted, and one sign is allowed (`"+5"` is 5, `"-0"`
/// is 0). A number beyond `u64::MAX` is `NotANumber`; a number below zero is `Negative` however
/// many digits it has.
pub fn parse(record: &Record) -> Result<Item, Reason> {
    todo!("parse and validate the raw text")
}
