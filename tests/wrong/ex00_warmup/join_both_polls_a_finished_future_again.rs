//! Wrong solution: polls both futures every time until both are done — including one that has
//! already returned Ready, which an async block answers with a panic.
//! replaces: pinning.rs
//! expect: join_both_never_polls_a_finished_future_again — again after it returned Ready
//! expect: join_both_and_with_progress_match_the_reference_on_generated_work — when each piece of work started
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

pub async fn join_both<A, B>(a: A, b: B) -> (A::Output, B::Output)
where
    A: Future,
    B: Future,
{
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut a_out = None;
    let mut b_out = None;
    poll_fn(|cx| {
        if let Poll::Ready(out) = a.as_mut().poll(cx) {
            a_out = Some(out);
        }
        if let Poll::Ready(out) = b.as_mut().poll(cx) {
            b_out = Some(out);
        }
        match (a_out.take(), b_out.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                a_out = a;
                b_out = b;
                Poll::Pending
            }
        }
    })
    .await
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
