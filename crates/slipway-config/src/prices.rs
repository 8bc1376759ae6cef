//! The price table: what each `provider:model` costs per million tokens of
//! each kind, from the versioned `prices.toml` embedded in the binary, with
//! `[prices."provider:model"]` tables in `slipway.toml` overriding or adding
//! entries.
//!
//! Money is integer micro-dollars throughout. A price is kept as
//! micro-dollars per million tokens (dollars as written, times 10⁶, rounded
//! to the nearest micro-dollar); a cost is `Σ tokens × price` over the token
//! kinds, computed exactly in `u128`, then divided by 10⁶ once, rounding half
//! up. So a cost is monotone in every token count, and the costs of two calls
//! add up to the cost of their sum within one micro-dollar.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
use slipway_types::TokenCounts;
use toml::Spanned;

use crate::config::Provider;
use crate::error::LoadError;
use crate::load::Validator;
use crate::raw::{RawPrice, RawPriceFile};

/// The price table shipped with this build.
pub const BUILTIN_PRICES: &str = include_str!("../prices.toml");

/// Where errors in the shipped price table are said to be.
const BUILTIN_PATH: &str = "slipway-config/prices.toml (built in)";

/// The largest price accepted, in dollars per million tokens: far above any
/// model's, low enough that the arithmetic stays exact.
const MAX_DOLLARS: f64 = 1_000_000.0;

const MICROS_PER_DOLLAR: f64 = 1_000_000.0;

/// One model's prices, in micro-dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Price {
    /// Uncached input.
    pub input: u64,
    /// Output, reasoning included.
    pub output: u64,
    /// Input read from the prompt cache.
    pub cache_read: u64,
    /// Input written to the prompt cache.
    pub cache_write: u64,
}

impl Price {
    /// Returns what `tokens` cost at this price, in micro-dollars, rounded
    /// half up; held at `i64::MAX` past it. Reasoning tokens are part of
    /// output and are not priced again.
    #[must_use]
    pub fn cost_micros(&self, tokens: &TokenCounts) -> i64 {
        let weighted = [
            (tokens.input, self.input),
            (tokens.cache_read, self.cache_read),
            (tokens.cache_write, self.cache_write),
            (tokens.output, self.output),
        ]
        .into_iter()
        .map(|(count, price)| u128::from(count) * u128::from(price))
        .fold(0_u128, u128::saturating_add);
        let micros = weighted.saturating_add(500_000) / 1_000_000;
        i64::try_from(micros).unwrap_or(i64::MAX)
    }
}

/// Shown (in `slipway config show`) and written as dollars per million tokens.
impl Serialize for Price {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut fields = s.serialize_struct("Price", 4)?;
        fields.serialize_field("input", &dollars(self.input))?;
        fields.serialize_field("output", &dollars(self.output))?;
        fields.serialize_field("cache_read", &dollars(self.cache_read))?;
        fields.serialize_field("cache_write", &dollars(self.cache_write))?;
        fields.end()
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "prices are at most 10^12 micro-dollars, exact in f64"
)]
fn dollars(micros_per_million: u64) -> f64 {
    micros_per_million as f64 / MICROS_PER_DOLLAR
}

/// Prices by `provider:model`, from one version of the shipped table plus
/// the project's overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceTable {
    version: String,
    prices: BTreeMap<String, Price>,
}

impl PriceTable {
    /// Returns the table shipped with this build.
    pub fn builtin() -> Result<Self, LoadError> {
        Self::parse(BUILTIN_PRICES, Path::new(BUILTIN_PATH))
    }

    /// Reads a price file: `version = "…"` and `[prices."provider:model"]`
    /// tables, each with all four prices.
    pub fn parse(text: &str, path: &Path) -> Result<Self, LoadError> {
        let mut v = Validator::new(text, path);
        let raw: RawPriceFile = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => return Err(LoadError::Invalid(vec![v.syntax_error(&e)])),
        };
        let version = raw.version.get_ref().trim().to_owned();
        if version.is_empty() {
            v.error(
                &raw.version.span(),
                "version",
                "the price table has no version",
                "give it the date its prices were checked, like \"2026-11-01\"",
            );
        }
        let mut prices = BTreeMap::new();
        for (name, price) in raw.prices {
            let key = format!("prices.{}", name.get_ref());
            if !v.model_ref(&name, &key) {
                continue;
            }
            if let Some(price) = v.price(price, Base::File, &key) {
                prices.insert(name.into_inner(), price);
            }
        }
        v.finish()?;
        Ok(Self { version, prices })
    }

    /// Returns the version of the shipped table the prices come from.
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Returns the price of `model_ref` (`provider:model`, exactly as listed).
    #[must_use]
    pub fn get(&self, model_ref: &str) -> Option<&Price> {
        self.prices.get(model_ref)
    }

    /// Returns every entry, ordered by `provider:model`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.prices
            .iter()
            .map(|(name, price)| (name.as_str(), price))
    }

    /// Returns what `tokens` cost on `model_ref` in micro-dollars, or `None`
    /// when the model has no price: an unknown cost, never 0.
    ///
    /// The name must match an entry exactly: a dated snapshot
    /// (`gpt-4o-2024-05-13`) may be priced differently from its alias, so it
    /// needs its own entry.
    #[must_use]
    pub fn cost_micros(&self, model_ref: &str, tokens: &TokenCounts) -> Option<i64> {
        self.get(model_ref).map(|price| price.cost_micros(tokens))
    }
}

/// Written as the `[prices]` of `slipway.toml`, so the resolved configuration parses back.
impl Serialize for PriceTable {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.prices.len()))?;
        for (name, price) in &self.prices {
            map.serialize_entry(name, price)?;
        }
        map.end()
    }
}

/// What a price table in a file fills its gaps from.
#[derive(Debug, Clone, Copy)]
enum Base {
    /// An entry of the price file itself: every price is required.
    File,
    /// A project's override of a shipped entry: the shipped prices fill the gaps.
    Shipped(Price),
    /// A project's new model: `input` and `output` are required, the cache
    /// prices default to `input`.
    New,
}

impl Validator<'_> {
    /// Returns the shipped table with the project's `[prices."provider:model"]`
    /// tables applied; a price left out of a table keeps the shipped one.
    pub(crate) fn prices(
        &mut self,
        raw: BTreeMap<Spanned<String>, Spanned<RawPrice>>,
        providers: &BTreeMap<String, Provider>,
    ) -> PriceTable {
        let mut table = match PriceTable::builtin() {
            Ok(table) => table,
            Err(err) => {
                self.extend(err);
                PriceTable {
                    version: String::new(),
                    prices: BTreeMap::new(),
                }
            }
        };
        for (name, price) in raw {
            let key = format!("prices.{}", name.get_ref());
            if !self.model_ref(&name, &key) {
                continue;
            }
            let provider = name.get_ref().split(':').next().unwrap_or_default();
            if !providers.contains_key(provider) {
                let known: Vec<&str> = providers.keys().map(String::as_str).collect();
                self.error(
                    &name.span(),
                    key,
                    format!("unknown provider `{provider}`"),
                    &format!(
                        "known providers: {}; add a `[providers.{provider}]` table to price its models",
                        known.join(", ")
                    ),
                );
                continue;
            }
            self.remember(key.clone(), &name.span());
            let base = match table.get(name.get_ref()) {
                Some(shipped) => Base::Shipped(*shipped),
                None => Base::New,
            };
            if let Some(price) = self.price(price, base, &key) {
                table.prices.insert(name.into_inner(), price);
            }
        }
        table
    }

    /// Checks that a price table's name is `provider:model`.
    fn model_ref(&mut self, name: &Spanned<String>, key: &str) -> bool {
        match name.get_ref().split_once(':') {
            Some((provider, model)) if !provider.is_empty() && !model.is_empty() => true,
            _ => {
                let model = name.get_ref().trim_matches(':');
                self.error(
                    &name.span(),
                    key,
                    format!("`{}` does not name its provider", name.get_ref()),
                    &format!(
                        "name the table `[prices.\"provider:model\"]`, like `[prices.\"openai:{model}\"]`"
                    ),
                );
                false
            }
        }
    }

    /// Resolves one price table against what it overrides, if anything.
    fn price(&mut self, raw: Spanned<RawPrice>, base: Base, key: &str) -> Option<Price> {
        let span = raw.span();
        let raw = raw.into_inner();
        let mut ok = true;
        let mut field = |v: &mut Self, value: Option<Spanned<f64>>, name: &str| {
            let value = value?;
            let micros = v.dollars_per_million(&value, &format!("{key}.{name}"));
            ok &= micros.is_some();
            micros
        };
        let input = field(self, raw.input, "input");
        let output = field(self, raw.output, "output");
        let cache_read = field(self, raw.cache_read, "cache_read");
        let cache_write = field(self, raw.cache_write, "cache_write");
        let price = match base {
            Base::Shipped(shipped) => Price {
                input: input.unwrap_or(shipped.input),
                output: output.unwrap_or(shipped.output),
                cache_read: cache_read.unwrap_or(shipped.cache_read),
                cache_write: cache_write.unwrap_or(shipped.cache_write),
            },
            Base::New => {
                let (Some(input), Some(output)) = (input, output) else {
                    self.missing(&span, key, &[("input", input), ("output", output)]);
                    return None;
                };
                Price {
                    input,
                    output,
                    cache_read: cache_read.unwrap_or(input),
                    cache_write: cache_write.unwrap_or(input),
                }
            }
            Base::File => {
                let (Some(input), Some(output), Some(cache_read), Some(cache_write)) =
                    (input, output, cache_read, cache_write)
                else {
                    let given = [
                        ("input", input),
                        ("output", output),
                        ("cache_read", cache_read),
                        ("cache_write", cache_write),
                    ];
                    self.missing(&span, key, &given);
                    return None;
                };
                Price {
                    input,
                    output,
                    cache_read,
                    cache_write,
                }
            }
        };
        ok.then_some(price)
    }

    /// Reports the prices a table lacks.
    fn missing(&mut self, span: &Range<usize>, key: &str, given: &[(&str, Option<u64>)]) {
        let lacking: Vec<String> = given
            .iter()
            .filter(|(_, value)| value.is_none())
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        if lacking.is_empty() {
            // A value that was given but invalid is reported where it is.
            return;
        }
        self.error(
            span,
            key,
            format!("the model has no {} price", lacking.join(" or ")),
            "give its prices in dollars per million tokens, like `input = 3.0` and `output = 15.0`",
        );
    }

    /// Converts dollars per million tokens to micro-dollars per million tokens.
    fn dollars_per_million(&mut self, value: &Spanned<f64>, key: &str) -> Option<u64> {
        let usd = *value.get_ref();
        let problem = if usd.is_nan() {
            "is not a number"
        } else if usd < 0.0 {
            "is negative"
        } else if usd > MAX_DOLLARS {
            "is too large for dollars per million tokens"
        } else {
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "checked above: a non-negative number of at most 10^12"
            )]
            let micros = (usd * MICROS_PER_DOLLAR).round() as u64;
            return Some(micros);
        };
        self.error(
            &value.span(),
            key,
            format!("{usd} {problem}"),
            "give the price in dollars per million tokens, like 3.0 (0 for a free model)",
        );
        None
    }
}

#[cfg(test)]
#[path = "prices_tests.rs"]
mod tests;
