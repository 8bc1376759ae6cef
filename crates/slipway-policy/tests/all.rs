//! Integration tests of `slipway-policy`, one binary for the crate.

mod suite {
    mod access_oracle;
    mod mece_oracle;
}
