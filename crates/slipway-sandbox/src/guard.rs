//! Landlock, the sandbox's second layer: the same write boundary as the
//! mount table, enforced by a different kernel mechanism, and (ABI 6 and
//! later) no signals or abstract Unix sockets across the sandbox's edge.

use landlock::{
    ABI, AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope,
};

use std::path::PathBuf;

use crate::spec::Spec;

/// The newest Landlock ABI Slipway asks for; an older kernel gets the best
/// it has.
const WANTED: ABI = ABI::V6;

/// Device files the command may write.
const WRITABLE_DEVICES: [&str; 4] = ["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"];

/// Restricts this process and its future children to writing beneath the
/// spec's writable directories; returns how much of it the kernel enforces
/// (`full`, `partial` or `none`).
pub(crate) fn restrict(spec: &Spec) -> Result<&'static str, String> {
    let write = AccessFs::from_write(WANTED);
    let file_write: BitFlags<AccessFs> = write & AccessFs::from_file(WANTED);
    let mut ruleset = Ruleset::default()
        .handle_access(write)
        .and_then(|r| r.scope(Scope::Signal | Scope::AbstractUnixSocket))
        .and_then(Ruleset::create)
        .map_err(|e| e.to_string())?;
    for dir in spec
        .writable()
        .into_iter()
        .chain([PathBuf::from("/dev/shm")])
    {
        let fd = PathFd::new(&dir).map_err(|e| format!("cannot open `{}`: {e}", dir.display()))?;
        ruleset = ruleset
            .add_rule(PathBeneath::new(fd, write))
            .map_err(|e| e.to_string())?;
    }
    for device in WRITABLE_DEVICES {
        if let Ok(fd) = PathFd::new(device) {
            ruleset = ruleset
                .add_rule(PathBeneath::new(fd, file_write))
                .map_err(|e| e.to_string())?;
        }
    }
    let status = ruleset.restrict_self().map_err(|e| e.to_string())?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => "full",
        RulesetStatus::PartiallyEnforced => "partial",
        RulesetStatus::NotEnforced => "none",
    })
}
