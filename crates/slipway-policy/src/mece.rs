//! The MECE check: every tracked path in exactly one lane or in a seam.

use serde::{Deserialize, Serialize};

use crate::control::{is_control_path, normalize};
use crate::ownership::{Matches, Ownership, SEAMS};

/// What the MECE check found over a set of tracked paths.
///
/// Paths are sorted; lanes within an overlap are in name order; unmatched
/// globs come seams first, then lanes in name order, each in declared order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MeceReport {
    /// Paths owned by two or more lanes (and by no seam).
    pub overlaps: Vec<Overlap>,
    /// Paths owned by no lane and no seam (control paths are never orphans).
    pub orphans: Vec<String>,
    /// Globs that match no tracked path other than control paths: a warning.
    pub unmatched: Vec<UnmatchedGlob>,
    /// How many paths were examined, control paths included.
    pub checked: usize,
}

impl MeceReport {
    /// Returns whether the lanes are MECE: no overlaps and no orphans.
    /// Unmatched globs are warnings and do not count.
    #[must_use]
    pub fn is_mece(&self) -> bool {
        self.overlaps.is_empty() && self.orphans.is_empty()
    }
}

/// A tracked path that several lanes own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overlap {
    pub path: String,
    /// The owning lanes, sorted, at least two.
    pub lanes: Vec<String>,
}

/// A glob that matches no tracked path: likely a typo or a stale entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedGlob {
    /// The lane, or `None` for the seams.
    pub lane: Option<String>,
    pub glob: String,
}

impl Ownership {
    /// Checks that `tracked` paths (as `git ls-files` prints them) are each
    /// a control path, a seam or owned by exactly one lane, and which globs
    /// match nothing.
    ///
    /// A glob counts as matched when it reaches a tracked path that is not a
    /// control path: a glob that only reaches control paths owns nothing.
    /// Negated globs are never reported as unmatched. Empty strings are
    /// skipped and repeated paths are reported once.
    #[must_use]
    pub fn check<'a>(&self, tracked: impl IntoIterator<Item = &'a str>) -> MeceReport {
        let rules = self.rules();
        let mut reached = vec![false; rules.len()];
        let mut matches = Matches::default();
        let mut report = MeceReport::default();
        for path in tracked {
            let path = normalize(path);
            if path.is_empty() {
                continue;
            }
            report.checked += 1;
            if is_control_path(path) {
                continue;
            }
            self.match_path(path, &mut matches);
            for rule in self.matched_rules(&matches) {
                reached[rule] = true;
            }
            match matches.owning.as_slice() {
                [SEAMS, ..] | [_] => {}
                [] => report.orphans.push(path.to_owned()),
                lists => report.overlaps.push(Overlap {
                    path: path.to_owned(),
                    lanes: lists
                        .iter()
                        .filter_map(|&list| self.list_lane(list))
                        .map(str::to_owned)
                        .collect(),
                }),
            }
        }
        report.orphans.sort_unstable();
        report.orphans.dedup();
        report.overlaps.sort_unstable_by(|a, b| a.path.cmp(&b.path));
        report.overlaps.dedup_by(|a, b| a.path == b.path);
        report.unmatched = rules
            .iter()
            .zip(reached)
            .filter(|(rule, reached)| !rule.negated && !reached)
            .map(|(rule, _)| UnmatchedGlob {
                lane: self.list_lane(rule.list).map(str::to_owned),
                glob: rule.glob.clone(),
            })
            .collect();
        report
    }
}
