//! Located configuration errors: file, line, column, key, and the fix.

use std::fmt;
use std::path::{Path, PathBuf};

/// A 1-based line and column in `slipway.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// Returns the line and column of byte `offset` in `text`.
    #[must_use]
    pub fn of_offset(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Self { line, column }
    }
}

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub at: Location,
    /// The dotted key the problem is about (`lanes.api.owns`), or empty for the whole file.
    pub key: String,
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl ConfigError {
    pub(crate) fn new(
        file: &Path,
        at: Location,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_path_buf(),
            at,
            key: key.into(),
            message: message.into(),
            help: None,
        }
    }

    #[must_use]
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: ",
            self.file.display(),
            self.at.line,
            self.at.column
        )?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in a configuration file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {detail}", path.display())]
    Read { path: PathBuf, detail: String },
    #[error("{}", list(.0))]
    Invalid(Vec<ConfigError>),
}

impl LoadError {
    /// Returns the located problems (empty for a read error).
    #[must_use]
    pub fn problems(&self) -> &[ConfigError] {
        match self {
            Self::Read { .. } => &[],
            Self::Invalid(errors) => errors,
        }
    }
}

fn list(errors: &[ConfigError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_lines_and_columns() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(
            Location::of_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::of_offset(text, 6),
            Location { line: 2, column: 1 }
        );
        // Columns count characters, not bytes.
        assert_eq!(
            Location::of_offset(text, 9),
            Location { line: 2, column: 3 }
        );
        assert_eq!(
            Location::of_offset(text, 999),
            Location { line: 3, column: 1 }
        );
    }

    #[test]
    fn display_names_file_line_column_key_and_help() {
        let e = ConfigError::new(
            Path::new("x/slipway.toml"),
            Location { line: 3, column: 5 },
            "lanes.a",
            "bad",
        )
        .help("fix it");
        assert_eq!(
            e.to_string(),
            "x/slipway.toml:3:5: `lanes.a`: bad\n  help: fix it"
        );
    }
}
