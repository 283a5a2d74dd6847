//! Wrong solution: awaits `a`, then `b` — `b` is not even polled until `a` is done, so the two
//! take the sum of their times.
//! replaces: pinning.rs
//! expect: join_both_runs_the_two_futures_at_once_and_returns_both_outputs — not the sum (400ms)
//! expect: join_both_and_with_progress_match_the_reference_on_generated_work — when each piece of work started
use std::future::Future;
use std::pin::pin;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

pub async fn join_both<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: Future,
    B: Future,
{
    let a = a.await;
    let b = b.await;
    (a, b)
}

pub async fn with_progress<F: Future>(
    work: F,
    every: Duration,
    mut report: impl FnMut(Duration),
) -> F::Output {
    let start = Instant::now();
    let mut work = pin!(work);
    let mut next_report = start + every;
    loop {
        tokio::select! {
            biased;
            output = &mut work => return output,
            () = sleep_until(next_report) => {
                report(next_report - start);
                next_report += every;
            }
        }
    }
}
