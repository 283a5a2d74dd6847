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

/// The scaffolding of a suite's `seen` module (see the module docs): inside `mod seen { … }`,
/// declares the trait `Seen` — "this value of the exercise, as the suite compares it" — and its
/// impls for the containers the suites compare (`Vec`, slices, arrays, `Option`, references,
/// `(u64, T)` rows of a timeline, a `tokio::time::timeout` result). The suite adds an impl per
/// exercise type (destructuring it into a mirror that derives `PartialEq`) and compares with
/// [`assert_seen_eq!`](crate::assert_seen_eq). The trait is the suite's own: a test crate may not
/// implement the kit's trait for the exercise's types.
#[macro_export]
macro_rules! seen_trait {
    () => {
        /// A value of the exercise, seen field by field.
        pub trait Seen {
            type As: PartialEq + std::fmt::Debug;
            fn seen(&self) -> Self::As;
        }

        impl<T: Seen + ?Sized> Seen for &T {
            type As = T::As;
            fn seen(&self) -> T::As {
                (**self).seen()
            }
        }

        impl<T: Seen> Seen for [T] {
            type As = Vec<T::As>;
            fn seen(&self) -> Vec<T::As> {
                self.iter().map(Seen::seen).collect()
            }
        }

        impl<T: Seen, const N: usize> Seen for [T; N] {
            type As = Vec<T::As>;
            fn seen(&self) -> Vec<T::As> {
                self.iter().map(Seen::seen).collect()
            }
        }

        impl<T: Seen> Seen for Vec<T> {
            type As = Vec<T::As>;
            fn seen(&self) -> Vec<T::As> {
                self.iter().map(Seen::seen).collect()
            }
        }

        impl<T: Seen> Seen for Option<T> {
            type As = Option<T::As>;
            fn seen(&self) -> Option<T::As> {
                self.as_ref().map(Seen::seen)
            }
        }

        /// What `tokio::time::timeout(…)` returned.
        impl<T: Seen> Seen for Result<T, tokio::time::error::Elapsed> {
            type As = Result<T::As, String>;
            fn seen(&self) -> Result<T::As, String> {
                self.as_ref().map(Seen::seen).map_err(|e| e.to_string())
            }
        }

        /// A row of a timeline: the virtual instant (ms) and what was seen then.
        impl<T: Seen> Seen for (u64, T) {
            type As = (u64, T::As);
            fn seen(&self) -> (u64, T::As) {
                (self.0, self.1.seen())
            }
        }
    };
}

/// `assert_eq!` on two values of the exercise seen field by field, through the suite's
/// `seen::Seen` (see [`seen_trait!`](crate::seen_trait)).
#[macro_export]
macro_rules! assert_seen_eq {
    ($left:expr, $right:expr, $($message:tt)+) => {
        pretty_assertions::assert_eq!(
            seen::Seen::seen(&$left),
            seen::Seen::seen(&$right),
            $($message)+
        )
    };
}
