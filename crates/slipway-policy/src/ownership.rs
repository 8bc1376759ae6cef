//! Lanes and seams compiled into one matcher, and who owns a path.
//!
//! Every pattern of every lane and of the seams goes into a single
//! `globset::GlobSet`, so one pass over a path says which patterns match it.
//! Globs are added list by list (seams first, then lanes in name order) and
//! pattern by pattern, so the ascending match indices `globset` returns come
//! grouped by list and, within a list, in pattern order: the last match of
//! each group is the one that wins.

use std::fmt;

use globset::{Candidate, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::control::{is_canonical_path, is_control_path, normalize};
use crate::glob::{GlobError, translate};

/// A lane as configured: a name and the gitignore-style globs it owns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LaneSpec {
    pub name: String,
    pub owns: Vec<String>,
}

/// Who owns a path, by precedence: control file, then seam, then lanes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    /// `slipway.toml`, `AGENTS.md` or `.slipway/`: no lane, no agent.
    Control,
    /// A shared file, written under a seam lease.
    Seam,
    /// Exactly one lane owns the path.
    Lane(String),
    /// Two or more lanes own the path (names sorted): the lanes are not MECE.
    Contested(Vec<String>),
    /// Nothing owns the path: an orphan.
    Unowned,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Control => f.write_str("control file"),
            Owner::Seam => f.write_str("seam"),
            Owner::Lane(lane) => write!(f, "lane {lane}"),
            Owner::Contested(lanes) => write!(f, "contested by lanes {}", lanes.join(", ")),
            Owner::Unowned => f.write_str("unowned"),
        }
    }
}

/// Which list a pattern belongs to.
pub(crate) const SEAMS: usize = 0;

/// One configured pattern, as the user wrote it.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// `SEAMS`, or 1 + the lane's index in `Ownership::lanes`.
    pub(crate) list: usize,
    pub(crate) negated: bool,
    pub(crate) glob: String,
}

/// Lanes and seams, compiled for matching.
#[derive(Debug, Clone)]
pub struct Ownership {
    set: GlobSet,
    /// The rule each glob of `set` came from, by glob index.
    glob_rule: Vec<usize>,
    rules: Vec<Rule>,
    /// Lane names, sorted.
    lanes: Vec<String>,
}

/// The patterns of one path's match, with the winner of each list decided.
#[derive(Debug, Default)]
pub(crate) struct Matches {
    globs: Vec<usize>,
    /// Lists whose last matching pattern is not negated, ascending.
    pub(crate) owning: Vec<usize>,
}

impl Ownership {
    /// Compiles lanes and seams.
    ///
    /// Fails on the first glob that does not parse, on an empty glob, on an
    /// empty lane name and on a lane name used twice.
    pub fn new(lanes: &[LaneSpec], seams: &[String]) -> Result<Self, GlobError> {
        let mut sorted: Vec<&LaneSpec> = lanes.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        if sorted.first().is_some_and(|lane| lane.name.is_empty()) {
            return Err(GlobError {
                lane: Some(String::new()),
                glob: String::new(),
                reason: "every lane needs a name, such as `api` or `web`".to_owned(),
            });
        }
        for pair in sorted.windows(2) {
            if pair[0].name == pair[1].name {
                return Err(GlobError {
                    lane: Some(pair[0].name.clone()),
                    glob: String::new(),
                    reason: "the name is used by two lanes: give each lane its own name".to_owned(),
                });
            }
        }

        let lists = std::iter::once((None, seams))
            .chain(sorted.iter().map(|lane| (Some(&lane.name), &lane.owns[..])));
        let mut builder = GlobSetBuilder::new();
        let mut glob_rule = Vec::new();
        let mut rules = Vec::new();
        for (list, (lane, globs)) in lists.enumerate() {
            for glob in globs {
                let pattern = translate(glob).map_err(|reason| GlobError {
                    lane: lane.cloned(),
                    glob: glob.clone(),
                    reason,
                })?;
                for compiled in pattern.globs {
                    builder.add(compiled);
                    glob_rule.push(rules.len());
                }
                rules.push(Rule {
                    list,
                    negated: pattern.negated,
                    glob: glob.clone(),
                });
            }
        }
        let set = builder.build().map_err(|err| GlobError {
            lane: None,
            glob: String::new(),
            reason: format!(
                "the lane and seam globs together are too large to compile ({err}); \
                 use fewer or simpler globs"
            ),
        })?;
        Ok(Ownership {
            set,
            glob_rule,
            rules,
            lanes: sorted.into_iter().map(|lane| lane.name.clone()).collect(),
        })
    }

    /// Returns the lane names, sorted.
    #[must_use]
    pub fn lanes(&self) -> &[String] {
        &self.lanes
    }

    /// Returns who owns `path`: a control path is `Control` whatever the
    /// globs say; then the seams; then the lanes whose globs match it.
    #[must_use]
    pub fn owner(&self, path: &str) -> Owner {
        self.owner_with(path, &mut Matches::default())
    }

    /// Returns whether the globs of `lane` match `path`, regardless of
    /// control files and seams; `false` for a lane that does not exist.
    ///
    /// This is the lane's reach, not a permission: use [`Ownership::owner`]
    /// to decide whether a lane may write a path.
    #[must_use]
    pub fn lane_owns(&self, lane: &str, path: &str) -> bool {
        let Ok(index) = self.lanes.binary_search_by(|name| name.as_str().cmp(lane)) else {
            return false;
        };
        let mut matches = Matches::default();
        self.match_path(path, &mut matches);
        matches.owning.contains(&(index + 1))
    }

    /// Returns whether `path` is a seam: the seam globs match it and it is
    /// not a control path (a control path is never writable, seam or not).
    #[must_use]
    pub fn is_seam(&self, path: &str) -> bool {
        self.owner(path) == Owner::Seam
    }

    /// Returns the seam entries (as configured, in declared order) whose
    /// leases a writer of `path` must hold: every non-negated seam glob that
    /// matches it. Empty when `path` is not a seam (see [`Ownership::owner`]).
    ///
    /// Every matching entry counts, not only the last: two tasks holding
    /// `Cargo.lock` and `*.lock` must not both write `Cargo.lock`, so a
    /// writer needs them all.
    #[must_use]
    pub fn seam_entries_for(&self, path: &str) -> Vec<&str> {
        let mut matches = Matches::default();
        if self.owner_with(path, &mut matches) != Owner::Seam {
            return Vec::new();
        }
        let mut entries: Vec<&str> = Vec::new();
        let mut last = None;
        for rule in self.matched_rules(&matches) {
            // Rule indices arrive ascending, a rule's two globs side by side.
            if last == Some(rule) {
                continue;
            }
            last = Some(rule);
            let rule = &self.rules[rule];
            if rule.list == SEAMS && !rule.negated {
                entries.push(&rule.glob);
            }
        }
        entries
    }

    /// Returns the globs of `lane` as configured, in declared order; empty
    /// for a lane that does not exist.
    #[must_use]
    pub fn lane_globs(&self, lane: &str) -> Vec<&str> {
        match self.lanes.binary_search_by(|name| name.as_str().cmp(lane)) {
            Ok(index) => self.list_globs(index + 1),
            Err(_) => Vec::new(),
        }
    }

    /// Returns the seam globs as configured, in declared order.
    #[must_use]
    pub fn seam_globs(&self) -> Vec<&str> {
        self.list_globs(SEAMS)
    }

    fn list_globs(&self, list: usize) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|rule| rule.list == list)
            .map(|rule| rule.glob.as_str())
            .collect()
    }

    /// `owner`, reusing `matches` between calls.
    pub(crate) fn owner_with(&self, path: &str, matches: &mut Matches) -> Owner {
        if is_control_path(path) {
            return Owner::Control;
        }
        if !is_canonical_path(normalize(path)) {
            return Owner::Unowned;
        }
        self.match_path(path, matches);
        match matches.owning.as_slice() {
            [SEAMS, ..] => Owner::Seam,
            [] => Owner::Unowned,
            [lane] => Owner::Lane(self.lanes[lane - 1].clone()),
            lanes => Owner::Contested(lanes.iter().map(|l| self.lanes[l - 1].clone()).collect()),
        }
    }

    /// Matches `path` against every glob, filling `matches`.
    pub(crate) fn match_path(&self, path: &str, matches: &mut Matches) {
        let candidate = Candidate::new(normalize(path));
        self.set
            .matches_candidate_into(&candidate, &mut matches.globs);
        matches.owning.clear();
        let mut globs = matches
            .globs
            .iter()
            .map(|&g| &self.rules[self.glob_rule[g]])
            .peekable();
        while let Some(rule) = globs.next() {
            let last_of_list = globs.peek().is_none_or(|next| next.list != rule.list);
            if last_of_list && !rule.negated {
                matches.owning.push(rule.list);
            }
        }
    }

    /// Returns the rule indices that matched in the last `match_path`.
    pub(crate) fn matched_rules<'a>(
        &'a self,
        matches: &'a Matches,
    ) -> impl Iterator<Item = usize> + 'a {
        matches.globs.iter().map(|&g| self.glob_rule[g])
    }

    pub(crate) fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Returns the lane name of a list, `None` for the seams.
    pub(crate) fn list_lane(&self, list: usize) -> Option<&str> {
        list.checked_sub(1).map(|lane| self.lanes[lane].as_str())
    }
}

#[cfg(test)]
#[path = "ownership_tests.rs"]
mod tests;
