//! The class report: one self-contained HTML page for the questions an instructor asks after a
//! deadline — how are the scores spread, which exercises and tests did the class fail and why
//! (blocked the executor? waited forever?), which tests are slow, which submissions are identical
//! or nearly so. Charts are inline SVG drawn by plotters; the page loads nothing from anywhere.
//!
//! It is built from what `grade-class` wrote — each submission's `result.json` (instructor
//! audience) — and the submissions' sources, so the shards of a class graded in parallel make one
//! report (`cargo wb class-report`).

use crate::grade::Sources;
use crate::grader::{ExerciseResult, Outcome, TestResult};
use crate::manifest::Visibility;
use crate::report::xml as esc;
use crate::sandbox::Status;
use crate::similarity;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// Submissions whose code beyond the stub is at least this similar are grouped for review.
pub const SIMILARITY: f64 = 0.8;

/// One graded submission.
pub struct Graded {
    pub label: String,
    pub results: Vec<ExerciseResult>,
}

/// Per exercise: the stub's sources, and each submission's (label, sources).
pub type ClassSources = BTreeMap<String, (Sources, Vec<(String, Sources)>)>;

/// The report, as one HTML document.
pub fn html(class: &[Graded], sources: &ClassSources, sandboxes: &[Status]) -> String {
    let mut page = String::new();
    let exercises: Vec<String> = class
        .first()
        .map(|g| g.results.iter().map(|e| e.exercise.clone()).collect())
        .unwrap_or_default();
    let totals: Vec<(f64, f64)> = class
        .iter()
        .map(|g| {
            (
                g.results.iter().map(ExerciseResult::points).sum(),
                g.results.iter().map(ExerciseResult::max_points).sum(),
            )
        })
        .collect();
    let percents: Vec<f64> = totals
        .iter()
        .map(|(p, m)| if *m > 0.0 { 100.0 * p / m } else { 0.0 })
        .collect();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Class report</title><style>{STYLE}</style></head><body>\n\
         <h1>Class report</h1>\n<p id=\"summary\">{} submissions · median {} · mean {}</p>\n",
        class.len(),
        pct(median(&percents)),
        pct(mean(&percents))
    );
    for status in sandboxes {
        let class_attr = if status.missing.is_empty() {
            "ok"
        } else {
            "warn"
        };
        let _ = writeln!(
            page,
            "<p class=\"sandbox {class_attr}\">{}</p>",
            esc(&status.summary())
        );
    }

    // Scores.
    let _ = write!(
        page,
        "<h2 id=\"scores\">Scores</h2>\n<figure>{}</figure>\n",
        histogram(&percents)
    );

    // Exercises.
    let mut rows = String::new();
    let mut bars = Vec::new();
    for (i, name) in exercises.iter().enumerate() {
        let of: Vec<&ExerciseResult> = class.iter().filter_map(|g| g.results.get(i)).collect();
        let points: f64 = of.iter().map(|e| e.points()).sum();
        let max: f64 = of.iter().map(|e| e.max_points()).sum();
        let share = if max > 0.0 { 100.0 * points / max } else { 0.0 };
        let submitted_ones: Vec<&&ExerciseResult> = of
            .iter()
            .filter(|e| {
                e.compile_errors.is_some() || e.tests.iter().any(|t| t.outcome != Outcome::NotRun)
            })
            .collect();
        let submitted = submitted_ones.len();
        let compiled = submitted_ones
            .iter()
            .filter(|e| e.compile_errors.is_none())
            .count();
        let full = of.iter().filter(|e| e.points() == e.max_points()).count();
        bars.push((short(name), share));
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{submitted}</td><td>{compiled}</td><td>{full}</td></tr>",
            esc(name),
            pct(share)
        );
    }
    let _ = write!(
        page,
        "<h2 id=\"exercises\">Exercises</h2>\n<figure>{}</figure>\n<table class=\"exercises\">\
         <tr><th>exercise</th><th>points won</th><th>submitted</th><th>compiled</th>\
         <th>full marks</th></tr>\n{rows}</table>\n",
        bar_chart(&bars)
    );

    // Tests: pass rate and why they failed, hardest first.
    let mut tests: Vec<TestStats> = Vec::new();
    for (i, exercise) in exercises.iter().enumerate() {
        let names: Vec<String> = class
            .first()
            .and_then(|g| g.results.get(i))
            .map(|e| e.tests.iter().map(|t| t.name.clone()).collect())
            .unwrap_or_default();
        for (j, name) in names.iter().enumerate() {
            let runs: Vec<(&str, &TestResult)> = class
                .iter()
                .filter_map(|g| Some((g.label.as_str(), g.results.get(i)?.tests.get(j)?)))
                .filter(|(_, t)| t.outcome != Outcome::NotRun)
                .collect();
            tests.push(TestStats::of(exercise, name, &runs));
        }
    }
    tests.sort_by(|a, b| {
        a.pass_rate()
            .total_cmp(&b.pass_rate())
            .then(a.key().cmp(&b.key()))
    });
    let everyone = tests
        .iter()
        .filter(|t| t.ran > 0 && t.passed == t.ran)
        .count();
    let never_ran = tests.iter().filter(|t| t.ran == 0).count();
    let mut rows = String::new();
    for t in tests.iter().filter(|t| t.ran > 0 && t.passed < t.ran) {
        let mut cause = t
            .causes
            .iter()
            .map(|(outcome, count, _)| format!("{} ×{count}", esc(outcome.label())))
            .collect::<Vec<_>>()
            .join(" · ");
        if let Some((_, _, example)) = t.causes.first() {
            let _ = write!(
                cause,
                "<details><summary>example</summary><pre>{}</pre></details>",
                esc(&excerpt(example, 8))
            );
        }
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{cause}</td></tr>",
            esc(&t.exercise),
            esc(&t.name),
            pct(100.0 * t.pass_rate()),
            t.passed,
            t.ran
        );
    }
    let _ = write!(
        page,
        "<h2 id=\"tests\">Tests, hardest first</h2>\n<p>Tests every submission that ran them \
         passed: {everyone}; tests no submission ran: {never_ran}. The others:</p>\n\
         <table class=\"tests\"><colgroup><col class=\"ex\"><col class=\"name\"><col class=\"n\">\
         <col class=\"n\"><col class=\"cause\"></colgroup><tr><th>exercise</th><th>test</th>\
         <th>passed</th><th>runs</th><th>how it failed</th></tr>\n{rows}</table>\n"
    );

    // Slowest tests.
    let mut slow: Vec<&TestStats> = tests.iter().filter(|t| t.ran > 0).collect();
    slow.sort_by_key(|t| std::cmp::Reverse(t.slowest.0));
    let mut rows = String::new();
    for t in slow.iter().take(15) {
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.exercise),
            esc(&t.name),
            secs(t.total / t.ran.max(1) as u32),
            secs(t.slowest.0),
            esc(&t.slowest.1)
        );
    }
    let _ = write!(
        page,
        "<h2 id=\"slowest\">Slowest tests</h2>\n<table class=\"slowest\"><tr><th>exercise</th>\
         <th>test</th><th>mean</th><th>slowest</th><th>in</th></tr>\n{rows}</table>\n"
    );

    // Similar submissions.
    let _ = write!(
        page,
        "<h2 id=\"similar\">Similar submissions</h2>\n<p>Code beyond the stub, compared with \
         layout, comments and names taken out (winnowed {}-token fingerprints, Jaccard ≥ {}). \
         A lead for a review, never a verdict: read the code.</p>\n",
        similarity::K,
        SIMILARITY
    );
    let mut any = false;
    for (exercise, (stub, submissions)) in sources {
        let groups = similarity::groups(stub, submissions, SIMILARITY);
        if groups.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(page, "<h3>{}</h3><ul class=\"groups\">", esc(exercise));
        for g in groups {
            let what = if g.identical {
                "identical after normalisation".to_owned()
            } else {
                format!("similarity ≥ {:.2}", g.similarity)
            };
            let _ = writeln!(
                page,
                "<li>{} — {what}</li>",
                g.members
                    .iter()
                    .map(|m| esc(m))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        page.push_str("</ul>\n");
    }
    if !any {
        page.push_str("<p class=\"none\">No group of similar submissions.</p>\n");
    }
    page.push_str("</body></html>\n");
    page
}

/// One test across the class.
struct TestStats {
    exercise: String,
    name: String,
    ran: usize,
    passed: usize,
    /// How it failed, most common first: outcome, how often, an example message.
    causes: Vec<(Outcome, usize, String)>,
    total: Duration,
    slowest: (Duration, String),
}

impl TestStats {
    fn of(exercise: &str, name: &str, runs: &[(&str, &TestResult)]) -> Self {
        let mut counts: BTreeMap<Outcome, (usize, &str)> = BTreeMap::new();
        for (_, t) in runs.iter().filter(|(_, t)| t.outcome != Outcome::Passed) {
            let entry = counts.entry(t.outcome).or_insert((0, &t.message));
            entry.0 += 1;
        }
        let mut causes: Vec<(Outcome, usize, String)> = counts
            .into_iter()
            .map(|(outcome, (n, example))| (outcome, n, example.to_owned()))
            .collect();
        causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let slowest = runs
            .iter()
            .max_by_key(|(_, t)| t.duration)
            .map(|(label, t)| (t.duration, (*label).to_owned()))
            .unwrap_or_default();
        TestStats {
            exercise: exercise.to_owned(),
            name: name.to_owned(),
            ran: runs.len(),
            passed: runs
                .iter()
                .filter(|(_, t)| t.outcome == Outcome::Passed)
                .count(),
            causes,
            total: runs.iter().map(|(_, t)| t.duration).sum(),
            slowest,
        }
    }

    fn pass_rate(&self) -> f64 {
        if self.ran == 0 {
            1.0
        } else {
            self.passed as f64 / self.ran as f64
        }
    }

    fn key(&self) -> (&str, &str) {
        (&self.exercise, &self.name)
    }
}

/// A submission's results read back from its `result.json` (as `grade-class` writes it).
pub fn from_json(value: &Value) -> Result<(Graded, Status), String> {
    let label = value["submission"]
        .as_str()
        .ok_or("no submission")?
        .to_owned();
    let mut results = Vec::new();
    for ex in value["exercises"].as_array().ok_or("no exercises")? {
        let mut tests = Vec::new();
        for t in ex["tests"].as_array().ok_or("no tests")? {
            let label = t["outcome"].as_str().unwrap_or_default();
            let outcome = Outcome::ALL
                .into_iter()
                .find(|o| o.label() == label)
                .ok_or_else(|| format!("unknown outcome {label:?}"))?;
            tests.push(TestResult {
                name: t["name"].as_str().unwrap_or_default().to_owned(),
                outcome,
                message: t["message"].as_str().unwrap_or_default().to_owned(),
                points: t["score"].as_f64().unwrap_or(0.0),
                max_points: t["max_score"].as_f64().unwrap_or(0.0),
                visibility: match t["visibility"].as_str() {
                    Some("hidden") => Visibility::Hidden,
                    Some("after_due_date") => Visibility::AfterDueDate,
                    _ => Visibility::Visible,
                },
                duration: Duration::from_millis(t["duration_ms"].as_u64().unwrap_or(0)),
            });
        }
        results.push(ExerciseResult {
            exercise: ex["exercise"].as_str().unwrap_or_default().to_owned(),
            tests,
            compile_errors: ex["compile_errors"].as_str().map(str::to_owned),
            ignored: crate::json_strings(&ex["ignored"]),
            findings: crate::json_strings(&ex["findings"]),
        });
    }
    let status = Status {
        backend: value["sandbox"]["backend"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned(),
        missing: crate::json_strings(&value["sandbox"]["missing"]),
    };
    Ok((Graded { label, results }, status))
}

/// A chart drawn by `draw` on a 720×300 SVG canvas, as markup to inline.
fn svg_chart(
    draw: impl FnOnce(
        &plotters::drawing::DrawingArea<plotters::prelude::SVGBackend<'_>, plotters::coord::Shift>,
    ) -> Result<(), Box<dyn std::error::Error>>,
) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut svg, (720, 300)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root).map_err(|e| e.to_string()))
            .and_then(|()| root.present().map_err(|e| e.to_string()))
    };
    match drawn {
        Ok(()) => svg,
        Err(e) => format!("<p>(chart unavailable: {})</p>", esc(&e)),
    }
}

fn histogram(percents: &[f64]) -> String {
    use plotters::prelude::*;
    let mut counts = [0u32; 10];
    for p in percents {
        counts[((p / 10.0).floor() as usize).min(9)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(0) + 1;
    svg_chart(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .caption("Total score, % of the points", ("sans-serif", 18))
            .x_label_area_size(36)
            .y_label_area_size(40)
            // Ten segments: the range's last value closes the last one.
            .build_cartesian_2d((0u32..9u32).into_segmented(), 0u32..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("% of the points")
            .y_desc("submissions")
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if *i < 10 => format!("{}–{}", i * 10, i * 10 + 10),
                _ => String::new(),
            })
            .draw()?;
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(RGBColor(52, 101, 164).filled())
                .margin(3)
                .data(counts.iter().enumerate().map(|(i, c)| (i as u32, *c))),
        )?;
        Ok(())
    })
}

fn bar_chart(bars: &[(String, f64)]) -> String {
    use plotters::prelude::*;
    let n = bars.len().max(1) as u32;
    svg_chart(|root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .caption(
                "Points won per exercise, % of the class's maximum",
                ("sans-serif", 18),
            )
            .x_label_area_size(36)
            .y_label_area_size(40)
            // n segments: the range's last value closes the last one.
            .build_cartesian_2d((0u32..(n - 1).max(1)).into_segmented(), 0u32..101u32)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc("%")
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => bars
                    .get(*i as usize)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .draw()?;
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(RGBColor(78, 154, 6).filled())
                .margin(6)
                .data(
                    bars.iter()
                        .enumerate()
                        .map(|(i, (_, p))| (i as u32, p.round() as u32)),
                ),
        )?;
        Ok(())
    })
}

/// `ex06` of `ex06_timeouts`.
fn short(exercise: &str) -> String {
    exercise.split('_').next().unwrap_or(exercise).to_owned()
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn pct(p: f64) -> String {
    format!("{p:.0} %")
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn excerpt(text: &str, lines: usize) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(lines)
        .collect::<Vec<_>>()
        .join("\n")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border-bottom:1px solid #ddd;padding:.3em .6em;\
text-align:left;vertical-align:top}th{background:#f4f4f4}pre{white-space:pre-wrap;max-width:48em;\
font-size:.85em;background:#f8f8f8;padding:.5em}.sandbox.warn{color:#a40000;font-weight:bold}\
.sandbox.ok{color:#4e9a06}figure{margin:1em 0}table.tests{table-layout:fixed;width:100%}\
col.ex{width:14em}col.n{width:5em}col.cause{width:24em}td{overflow-wrap:anywhere}";

#[cfg(test)]
mod tests {
    use super::*;

    fn test(name: &str, outcome: Outcome, message: &str, ms: u64) -> TestResult {
        TestResult {
            name: name.into(),
            outcome,
            message: message.into(),
            points: if outcome == Outcome::Passed { 1.0 } else { 0.0 },
            max_points: 1.0,
            visibility: Visibility::Visible,
            duration: Duration::from_millis(ms),
        }
    }

    fn graded(label: &str, outcomes: [(Outcome, &str, u64); 2]) -> Graded {
        Graded {
            label: label.into(),
            results: vec![ExerciseResult {
                exercise: "ex06_timeouts".into(),
                tests: vec![
                    test(
                        "retry_schedule",
                        outcomes[0].0,
                        outcomes[0].1,
                        outcomes[0].2,
                    ),
                    test(
                        "shutdown_is_prompt",
                        outcomes[1].0,
                        outcomes[1].1,
                        outcomes[1].2,
                    ),
                ],
                compile_errors: None,
                ignored: vec![],
                findings: vec![],
            }],
        }
    }

    fn sources(text: &str) -> Sources {
        [("lib.rs".into(), text.as_bytes().to_vec())]
            .into_iter()
            .collect()
    }

    #[test]
    fn the_report_answers_the_questions_after_a_deadline_on_one_self_contained_page() {
        let class = vec![
            graded(
                "alice",
                [(Outcome::Passed, "", 40), (Outcome::Passed, "", 10)],
            ),
            graded(
                "bob",
                [
                    (
                        Outcome::Blocked,
                        "blocked the executor for 300 ms at t=100ms",
                        900,
                    ),
                    (Outcome::Passed, "", 10),
                ],
            ),
            graded(
                "<script>alert(1)</script>",
                [
                    (Outcome::Blocked, "blocked the executor for 250 ms", 20),
                    (Outcome::TimedOut, "waited forever", 30),
                ],
            ),
        ];
        let code = "pub fn retry(n: u32) -> u32 { let mut total = 0; for i in 0..n { if i % 2 == 0 { total += i * 3; } else { total -= 1; } } \
                    let mut spare = Vec::new(); while spare.len() < 5 { spare.push(total ^ 17); } \
                    match spare.first() { Some(x) if *x > 3 => total + n * 7 - 2, Some(_) => total, None => 0 } }";
        let renamed = code
            .replace("total", "acc")
            .replace(" i ", " k ")
            .replace("i %", "k %");
        let mut per_exercise = ClassSources::new();
        per_exercise.insert(
            "ex06_timeouts".into(),
            (
                sources("pub fn retry(n: u32) -> u32 { todo!() }"),
                vec![
                    ("alice".into(), sources(code)),
                    ("bob".into(), sources("pub fn retry(n: u32) -> u32 { (0..n).map(|i| if i % 2 == 0 { 3 * i } else { 0 }).sum::<u32>() + 8 * n }")),
                    ("mallory".into(), sources(&renamed)),
                ],
            ),
        );
        let status = Status {
            backend: "landlock".into(),
            missing: vec!["a PID namespace".into()],
        };
        let page = html(&class, &per_exercise, &[status]);
        assert!(
            page.contains("3 submissions · median 50 % · mean 50 %"),
            "{page}"
        );
        assert_eq!(page.matches("<svg").count(), 2, "two charts, inline");
        assert!(
            page.contains("<p class=\"sandbox warn\">WARNING") || page.contains("sandbox warn"),
            "a missing protection is shown as a warning"
        );
        // The hardest test first, its commonest failure, an example message.
        let retry = page
            .find("<td>retry_schedule</td>")
            .expect("retry_schedule is listed");
        let shutdown = page
            .find("<td>shutdown_is_prompt</td>")
            .expect("shutdown is listed");
        assert!(retry < shutdown, "1 of 3 passed before 2 of 3");
        assert!(page.contains("blocked the executor ×2"), "{page}");
        assert!(
            page.contains("blocked the executor for 300 ms at t=100ms"),
            "an example"
        );
        // The slowest test, and in whose submission.
        assert!(page.contains("<td>0.90 s</td><td>bob</td>"), "{page}");
        assert!(
            page.contains("<li>alice, mallory — identical after normalisation</li>"),
            "{page}"
        );
        // Nothing is fetched, and nobody's text is markup.
        assert!(!page.contains("src=\"http") && !page.contains("href=\"http"));
        assert!(!page.contains("<script>"), "a label is escaped");
    }
}
