//! Integration tests of `slipway-tools`, one binary for the crate: real files
//! in temporary directories.

mod suite {
    mod support;

    mod delegate;
    mod edit_file;
    mod escapes;
    mod list_dir;
    mod private_dirs;
    mod read_file;
    mod roles;
    mod run_command;
    mod search;
    mod toolbox;
    mod write_file;
}
