//! The suites compare the learner's values with `==` (`assert_eq!(reply, Reply::Ok)`). That calls
//! the learner's own `PartialEq`, and a submission is hostile until proven otherwise: a hand-written
//! `impl PartialEq for Reply { fn eq(&self, _: &Self) -> bool { true } }` would pass every such
//! assertion without doing the work.
//!
//! [`derived_eq!`](crate::derived_eq) closes that door at compile time. A constant used as a
//! pattern compiles only when its type's `PartialEq` is *derived* (the compiler's "structural
//! match" rule; a manual `impl` is refused with "`Reply` must be annotated with
//! `#[derive(PartialEq)]`"), so a suite that names each of the exercise's compared types in a
//! `derived_eq!` does not compile against a crate that hand-writes one — it earns no points, and
//! the learner reads the compiler's reason. The stubs give these derives; the docs say they are
//! part of the contract.
//!
//! The rule checks the constant's *value*, and every type in it must derive `PartialEq`: std's
//! `String`, `Vec`, `PathBuf` and `BTreeMap` write theirs by hand, and tokio's `Instant` cannot be
//! built in a constant. So an enum is checked through a variant without such fields (that checks
//! the enum's own `==`, not its variants' field types), a struct of numbers, `bool`s, `Duration`s
//! and checked types is checked whole, and a struct with a `String` or a `Vec` cannot be checked
//! at all: compare it field by field (a suite-local mirror struct that derives `PartialEq`, built
//! by destructuring), never with the learner's `==`.

/// Fails to compile unless each named type derives `PartialEq` (see the module docs):
///
/// ```
/// #[derive(Debug, PartialEq, Eq)]
/// pub enum Reply { Ok, Value(String) }
/// testkit::derived_eq! { Reply = Reply::Ok }
/// ```
///
/// ```compile_fail
/// #[derive(Debug, Eq)]
/// pub enum Reply { Ok, Value(String) }
/// impl PartialEq for Reply {
///     fn eq(&self, _: &Self) -> bool { true }
/// }
/// testkit::derived_eq! { Reply = Reply::Ok }
/// ```
#[macro_export]
macro_rules! derived_eq {
    ($($ty:ty = $value:expr),+ $(,)?) => {
        $(
            const _: () = {
                const VALUE: $ty = $value;
                #[allow(dead_code)]
                fn structural(value: &$ty) -> bool {
                    matches!(*value, VALUE)
                }
            };
        )+
    };
}
