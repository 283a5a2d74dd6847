//! Printing a panic is not blocking the executor. With `RUST_BACKTRACE=1` the standard panic hook
//! resolves a backtrace (100–300 ms the first time) on the thread that panicked: a correct solution
//! whose task panics on purpose must not be called "blocked" for it. A process of its own: the
//! slow hook stands in for the backtrace and must be in place before the kit first runs.

use std::time::Duration;
use testkit::{Failure, Test};

#[test]
fn a_slow_panic_hook_is_not_counted_as_blocking_but_a_blocking_call_is() {
    std::panic::set_hook(Box::new(|_| std::thread::sleep(Duration::from_millis(400))));
    let outcome = Test::new().try_run(|| async {
        let task = tokio::spawn(async { panic!("on purpose") });
        assert!(task.await.is_err(), "the task panicked");
        tokio::time::sleep(Duration::from_millis(10)).await;
    });
    assert!(
        outcome.is_ok(),
        "a task that panics on purpose, printed by a 400 ms hook, is not blocking: {outcome:?}"
    );
    // The control: the same 400 ms held by the code itself is.
    let outcome = Test::new().try_run(|| async {
        std::thread::sleep(Duration::from_millis(400));
    });
    assert!(
        matches!(outcome, Err(Failure::Blocked { .. })),
        "400 ms of std::thread::sleep is blocking: {outcome:?}"
    );
}
