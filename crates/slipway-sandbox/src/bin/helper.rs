//! The sandbox helper on its own, for the sandbox crate's tests and
//! benchmarks; the `slipway` binary carries the same entry point.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    slipway_sandbox::helper_main(&args).unwrap_or_else(|| {
        eprintln!("slipway-sandbox-helper is started by Slipway's sandbox, not by hand");
        ExitCode::from(2)
    })
}
