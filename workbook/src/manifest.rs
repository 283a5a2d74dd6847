//! The grading manifest (`tests/grading.toml`): points and visibility per hidden test.

use std::collections::BTreeMap;
use std::path::Path;

/// Who may see a test's name and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Visible,
    Hidden,
    AfterDueDate,
}

impl Visibility {
    fn parse(text: &str) -> Result<Self, String> {
        match text {
            "visible" => Ok(Self::Visible),
            "hidden" => Ok(Self::Hidden),
            "after_due_date" => Ok(Self::AfterDueDate),
            other => Err(format!(
                "unknown visibility {other:?} (visible, hidden, after_due_date)"
            )),
        }
    }

    /// Gradescope's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visible => "visible",
            Self::Hidden => "hidden",
            Self::AfterDueDate => "after_due_date",
        }
    }

    /// Whether a learner-facing report shows the test's name and message.
    pub fn shown_to_learner(self) -> bool {
        self == Self::Visible
    }
}

/// Points, visibility and instructor feedback of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    pub points: f64,
    pub visibility: Visibility,
    /// Extra feedback per outcome (`failed`, `timed_out`, …), shown above the test's own message.
    pub feedback: BTreeMap<String, String>,
}

/// The outcomes feedback can be attached to (the grader's outcome labels, with underscores).
pub const FEEDBACK_OUTCOMES: &[&str] = &[
    "failed",
    "not_implemented",
    "timed_out",
    "blocked",
    "leaked_tasks",
    "crashed",
    "did_not_compile",
];

/// The whole manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    defaults: Weight,
    tests: BTreeMap<(String, String), Weight>,
}

impl Default for Manifest {
    fn default() -> Self {
        Self {
            defaults: Weight {
                points: 1.0,
                visibility: Visibility::Visible,
                feedback: BTreeMap::new(),
            },
            tests: BTreeMap::new(),
        }
    }
}

impl Manifest {
    /// Reads `<root>/tests/grading.toml`; a missing file means the defaults for every test.
    pub fn load(root: &Path) -> Result<Self, String> {
        let path = root.join("tests").join("grading.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(_) => Ok(Self::default()),
        }
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
        let mut manifest = Self::default();
        if let Some(defaults) = table.get("defaults") {
            manifest.defaults = weight(defaults, &manifest.defaults)?;
        }
        for (exercise, tests) in &table {
            if exercise == "defaults" {
                continue;
            }
            let tests = tests
                .as_table()
                .ok_or_else(|| format!("[{exercise}] must be a table"))?;
            for (test, value) in tests {
                let w = weight(value, &manifest.defaults)
                    .map_err(|e| format!("{exercise}.{test}: {e}"))?;
                manifest.tests.insert((exercise.clone(), test.clone()), w);
            }
        }
        Ok(manifest)
    }

    /// The weight of `test` in `exercise`.
    pub fn weight(&self, exercise: &str, test: &str) -> Weight {
        self.tests
            .get(&(exercise.to_owned(), test.to_owned()))
            .cloned()
            .unwrap_or_else(|| self.defaults.clone())
    }

    /// Every `(exercise, test)` the manifest names.
    pub fn entries(&self) -> impl Iterator<Item = &(String, String)> {
        self.tests.keys()
    }
}

fn weight(value: &toml::Value, defaults: &Weight) -> Result<Weight, String> {
    let table = value
        .as_table()
        .ok_or("expected a table like { points = 2 }")?;
    let mut w = defaults.clone();
    for (key, value) in table {
        match key.as_str() {
            "points" => {
                w.points = value
                    .as_float()
                    .or_else(|| value.as_integer().map(|i| i as f64))
                    .filter(|p| *p >= 0.0)
                    .ok_or("points must be a number ≥ 0")?;
            }
            "visibility" => {
                w.visibility =
                    Visibility::parse(value.as_str().ok_or("visibility must be a string")?)?
            }
            "feedback" => {
                let table = value
                    .as_table()
                    .ok_or("feedback must be a table like { timed_out = \"…\" }")?;
                for (outcome, text) in table {
                    if !FEEDBACK_OUTCOMES.contains(&outcome.as_str()) {
                        return Err(format!(
                            "feedback for unknown outcome {outcome:?} ({})",
                            FEEDBACK_OUTCOMES.join(", ")
                        ));
                    }
                    let text = text.as_str().ok_or("feedback texts must be strings")?;
                    w.feedback.insert(outcome.clone(), text.to_owned());
                }
            }
            other => {
                return Err(format!(
                    "unknown key {other:?} (points, visibility, feedback)"
                ));
            }
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_tests_get_their_weight_and_the_rest_the_defaults() {
        let m = Manifest::parse(
            "[defaults]\npoints = 2\n[ex06]\nhard = { points = 5, visibility = \"hidden\" }\nlate = { visibility = \"after_due_date\" }\n",
        )
        .unwrap();
        assert_eq!(
            m.weight("ex06", "hard"),
            Weight {
                points: 5.0,
                visibility: Visibility::Hidden,
                feedback: BTreeMap::new(),
            }
        );
        assert_eq!(
            m.weight("ex06", "late"),
            Weight {
                points: 2.0,
                visibility: Visibility::AfterDueDate,
                feedback: BTreeMap::new(),
            }
        );
        assert_eq!(
            m.weight("ex06", "other"),
            Weight {
                points: 2.0,
                visibility: Visibility::Visible,
                feedback: BTreeMap::new(),
            }
        );
        assert!(Manifest::parse("[ex06]\nx = { points = -1 }").is_err());
        assert!(Manifest::parse("[ex06]\nx = { visibility = \"secret\" }").is_err());
        assert!(Manifest::parse("[ex06]\nx = { pts = 1 }").is_err());
    }

    #[test]
    fn feedback_per_outcome_comes_from_the_defaults_and_the_test() {
        let m = Manifest::parse(
            "[defaults]\nfeedback = { timed_out = \"Look for a missing .await.\" }\n\
             [ex06]\nretry = { feedback = { failed = \"Reread the schedule in the docs.\" } }\n",
        )
        .unwrap();
        let retry = m.weight("ex06", "retry");
        assert_eq!(retry.feedback["failed"], "Reread the schedule in the docs.");
        assert_eq!(retry.feedback["timed_out"], "Look for a missing .await.");
        assert_eq!(m.weight("ex06", "other").feedback.len(), 1);
        assert!(Manifest::parse("[ex06]\nx = { feedback = { exploded = \"?\" } }").is_err());
    }
}
