use std::path::Path;

use proptest::prelude::*;
use slipway_types::TokenCounts;

use super::*;
use crate::{ConfigError, parse as parse_config};

const ANTHROPIC: [&str; 6] = [
    "claude-opus-4-1",
    "claude-opus-4",
    "claude-sonnet-4-5",
    "claude-sonnet-4",
    "claude-haiku-4-5",
    "claude-3-5-haiku",
];

const OPENAI: [&str; 9] = [
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "o3",
    "o4-mini",
];

fn builtin() -> PriceTable {
    PriceTable::builtin().unwrap()
}

fn tokens(
    input: u64,
    cache_read: u64,
    cache_write: u64,
    output: u64,
    reasoning: u64,
) -> TokenCounts {
    TokenCounts {
        input,
        cache_read,
        cache_write,
        output,
        reasoning,
    }
}

fn config_errors(text: &str) -> Vec<ConfigError> {
    match parse_config(text, Path::new("p/slipway.toml")) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.problems().to_vec(),
    }
}

fn one_error(text: &str) -> ConfigError {
    let errors = config_errors(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn the_shipped_table_covers_the_current_models_consistently() {
    let table = builtin();
    assert_eq!(table.version(), "2026-11-01");
    let names: Vec<String> = ANTHROPIC
        .iter()
        .map(|m| format!("anthropic:{m}"))
        .chain(OPENAI.iter().map(|m| format!("openai:{m}")))
        .collect();
    assert_eq!(
        table.iter().count(),
        names.len(),
        "no entry unaccounted for"
    );
    for name in &names {
        let price = table
            .get(name)
            .unwrap_or_else(|| panic!("{name} has no price"));
        assert!(price.output > price.input, "{name}: {price:?}");
        assert!(price.cache_read < price.input, "{name}: {price:?}");
        if name.starts_with("anthropic:") {
            // Anthropic's multipliers: 5-minute writes 1.25×, reads 0.1× input.
            assert_eq!(price.cache_write * 4, price.input * 5, "{name}");
            assert_eq!(price.cache_read * 10, price.input, "{name}");
        } else {
            // OpenAI charges nothing extra to write its cache.
            assert_eq!(price.cache_write, price.input, "{name}");
        }
    }
    let sonnet = table.get("anthropic:claude-sonnet-4-5").unwrap();
    assert_eq!(
        *sonnet,
        Price {
            input: 3_000_000,
            output: 15_000_000,
            cache_read: 300_000,
            cache_write: 3_750_000,
        }
    );
    assert_eq!(table.get("openai:gpt-5-nano").unwrap().cache_read, 5_000);
}

#[test]
fn costs_are_integer_micro_dollars_rounded_half_up() {
    let table = builtin();
    let sonnet = "anthropic:claude-sonnet-4-5";
    let cost = |model: &str, used: TokenCounts| table.cost_micros(model, &used);
    assert_eq!(cost(sonnet, tokens(1_000_000, 0, 0, 0, 0)), Some(3_000_000));
    assert_eq!(cost(sonnet, tokens(1, 0, 0, 0, 0)), Some(3));
    // 1200 × 3 + 30000 × 0.3 + 500 × 3.75 + 350 × 15 = 19725 micro-dollars.
    assert_eq!(
        cost(sonnet, tokens(1200, 30_000, 500, 350, 0)),
        Some(19_725)
    );
    // Reasoning is inside output: not priced twice.
    assert_eq!(
        cost(sonnet, tokens(0, 0, 0, 350, 200)),
        cost(sonnet, tokens(0, 0, 0, 350, 0))
    );
    // gpt-5-nano cache reads: $0.005 per million, 0.005 micro-dollars a token.
    let nano = "openai:gpt-5-nano";
    assert_eq!(cost(nano, tokens(0, 99, 0, 0, 0)), Some(0));
    assert_eq!(
        cost(nano, tokens(0, 100, 0, 0, 0)),
        Some(1),
        "0.5 rounds up"
    );
    assert_eq!(cost(nano, tokens(0, 299, 0, 0, 0)), Some(1));
    assert_eq!(cost(nano, TokenCounts::default()), Some(0));
    // No price: unknown, not free.
    assert_eq!(cost("ollama:qwen3", tokens(10, 0, 0, 10, 0)), None);
    assert_eq!(
        cost("openai:gpt-4o-2024-05-13", tokens(10, 0, 0, 10, 0)),
        None
    );
    let most = Price {
        input: 1_000_000_000_000,
        output: 1_000_000_000_000,
        cache_read: 1_000_000_000_000,
        cache_write: 1_000_000_000_000,
    };
    let all = tokens(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX);
    assert_eq!(most.cost_micros(&all), i64::MAX);
}

#[test]
fn the_project_overrides_and_adds_prices() {
    let text = "[prices.\"anthropic:claude-sonnet-4-5\"]\ninput = 2.5\n\n\
                [providers.ollama]\nbase_url = \"http://127.0.0.1:11434/v1\"\n\n\
                [prices.\"ollama:qwen3\"]\ninput = 0\noutput = 0\n\n\
                [prices.\"openai:gpt-5-codex\"]\ninput = 1.25\noutput = 10\ncache_read = 0.125\n";
    let config = parse_config(text, Path::new("slipway.toml")).unwrap();
    let prices = &config.prices;
    let sonnet = prices.get("anthropic:claude-sonnet-4-5").unwrap();
    assert_eq!(
        (sonnet.input, sonnet.output, sonnet.cache_write),
        (2_500_000, 15_000_000, 3_750_000),
        "prices left out keep the shipped ones"
    );
    assert_eq!(
        prices.cost_micros("ollama:qwen3", &tokens(5000, 0, 0, 900, 0)),
        Some(0),
        "a free model costs 0, which is known"
    );
    let codex = prices.get("openai:gpt-5-codex").unwrap();
    assert_eq!(
        *codex,
        Price {
            input: 1_250_000,
            output: 10_000_000,
            cache_read: 125_000,
            cache_write: 1_250_000,
        },
        "a new model's missing cache prices are its input price"
    );
    assert_eq!(prices.version(), "2026-11-01");
    assert_eq!(prices.get("openai:gpt-5"), builtin().get("openai:gpt-5"));
    assert_eq!(
        config.location("prices.ollama:qwen3").map(|at| at.line),
        Some(7)
    );

    // The resolved configuration shows every price and parses back to the same table.
    let shown = config.to_toml();
    assert!(
        shown.contains("[prices.\"anthropic:claude-sonnet-4-5\"]"),
        "{shown}"
    );
    assert!(shown.contains("input = 2.5"), "{shown}");
    let again = parse_config(&shown, Path::new("slipway.toml")).unwrap();
    assert_eq!(&again.prices, prices);
    assert_eq!(
        parse_config("", Path::new("slipway.toml")).unwrap().prices,
        builtin()
    );
}

#[test]
fn bad_prices_are_located_errors() {
    let e = one_error("[prices.\"openai:gpt-5\"]\ninput = 1.0\noutput = -10.0\n");
    assert_eq!(e.key, "prices.openai:gpt-5.output");
    assert_eq!((e.at.line, e.at.column), (3, 10));
    assert!(e.message.contains("-10 is negative"), "{e}");
    assert!(
        e.help.as_deref().unwrap().contains("dollars per million"),
        "{e}"
    );

    let e = one_error("[prices.\"openai:gpt-5\"]\ninptu = 1.0\n");
    assert_eq!(e.key, "prices.openai:gpt-5.inptu");
    assert_eq!(e.at.line, 2);
    assert_eq!(e.help.as_deref(), Some("did you mean `input`?"));

    let e = one_error("[prices.\"openai:gpt-5\"]\ninput = \"cheap\"\n");
    assert_eq!(e.at.line, 2);

    for (value, words) in [
        ("nan", "not a number"),
        ("inf", "too large"),
        ("2e7", "too large"),
    ] {
        let e = one_error(&format!("[prices.\"openai:o3\"]\ncache_read = {value}\n"));
        assert_eq!(e.key, "prices.openai:o3.cache_read", "{value}");
        assert!(e.message.contains(words), "{value}: {e}");
    }

    let e = one_error("[prices.\"ollama:qwen3\"]\ninput = 0\noutput = 0\n");
    assert!(e.message.contains("unknown provider `ollama`"), "{e}");
    assert_eq!(e.key, "prices.ollama:qwen3");

    let e = one_error("[prices.\"gpt-5\"]\ninput = 1\noutput = 2\n");
    assert!(e.message.contains("does not name its provider"), "{e}");
    assert!(e.help.as_deref().unwrap().contains("openai:gpt-5"), "{e}");

    let e = one_error("[prices.\"openai:gpt-6\"]\ninput = 1.0\n");
    assert_eq!(e.key, "prices.openai:gpt-6");
    assert!(e.message.contains("no `output` price"), "{e}");
    assert_eq!(e.at.line, 1);

    // Every problem at once, in file order.
    let errors = config_errors(
        "[prices.\"openai:gpt-5\"]\ninput = -1\n[prices.\"openai:o3\"]\noutput = -2\n",
    );
    let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        ["prices.openai:gpt-5.input", "prices.openai:o3.output"]
    );
}

#[test]
fn price_files_need_a_version_and_every_price() {
    let file = Path::new("prices.toml");
    let table = PriceTable::parse(
        "version = \"2027-01-01\"\n[prices.\"x:y\"]\ninput = 1\noutput = 2\ncache_read = 0.1\ncache_write = 1.25\n",
        file,
    )
    .unwrap();
    assert_eq!(table.version(), "2027-01-01");
    assert_eq!(table.get("x:y").unwrap().cache_write, 1_250_000);

    let err = PriceTable::parse("[prices.\"x:y\"]\ninput = 1\n", file).unwrap_err();
    assert!(err.to_string().contains("version"), "{err}");
    let err = PriceTable::parse(
        "version = \"v\"\n[prices.\"x:y\"]\ninput = 1\noutput = 2\ncache_read = 0.1\n",
        file,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("prices.toml:2:1: `prices.x:y`: the model has no `cache_write` price"),
        "{text}"
    );
    let err = PriceTable::parse("version = \" \"\n", file).unwrap_err();
    assert!(err.to_string().contains("has no version"), "{err}");
}

fn any_price() -> impl Strategy<Value = Price> {
    let one = 0..=1_000_000_000_000_u64;
    (one.clone(), one.clone(), one.clone(), one).prop_map(
        |(input, output, cache_read, cache_write)| Price {
            input,
            output,
            cache_read,
            cache_write,
        },
    )
}

fn any_tokens() -> impl Strategy<Value = TokenCounts> {
    let one = 0..=10_000_000_000_u64;
    (one.clone(), one.clone(), one.clone(), one.clone(), one).prop_map(
        |(input, cache_read, cache_write, output, reasoning)| {
            tokens(input, cache_read, cache_write, output, reasoning)
        },
    )
}

proptest! {
    #[test]
    fn cost_is_monotone_in_every_token_kind(
        price in any_price(),
        used in any_tokens(),
        kind in 0..5_usize,
        extra in 0..=1_000_000_000_u64,
    ) {
        let mut more = used;
        let slot = match kind {
            0 => &mut more.input,
            1 => &mut more.cache_read,
            2 => &mut more.cache_write,
            3 => &mut more.output,
            _ => &mut more.reasoning,
        };
        *slot += extra;
        prop_assert!(price.cost_micros(&more) >= price.cost_micros(&used));
    }

    #[test]
    fn costs_of_calls_add_up_within_rounding(
        price in any_price(),
        calls in prop::collection::vec(any_tokens(), 1..20),
    ) {
        let together = price.cost_micros(&calls.iter().copied().sum());
        let apart: i64 = calls.iter().map(|call| price.cost_micros(call)).sum();
        // Each rounding is off by less than half a micro-dollar.
        let n = i64::try_from(calls.len()).unwrap();
        prop_assert!((together - apart).abs() <= n / 2, "{together} vs {apart}");
    }

    #[test]
    fn cost_is_the_exact_product_rounded(price in any_price(), used in any_tokens()) {
        let exact = [
            (used.input, price.input),
            (used.cache_read, price.cache_read),
            (used.cache_write, price.cache_write),
            (used.output, price.output),
        ]
        .iter()
        .map(|(n, p)| u128::from(*n) * u128::from(*p))
        .sum::<u128>();
        let cost = u128::try_from(price.cost_micros(&used)).unwrap();
        // cost − ½ ≤ exact / 10⁶ < cost + ½
        prop_assert!(cost * 2_000_000 <= exact * 2 + 1_000_000);
        prop_assert!(exact * 2 < cost * 2_000_000 + 1_000_000);
    }

    #[test]
    fn dollars_convert_to_the_nearest_micro_dollar(cents in 0..100_000_000_u32) {
        let usd = f64::from(cents) / 100.0;
        let text = format!("version = \"v\"\n[prices.\"x:y\"]\ninput = {usd:?}\noutput = {usd:?}\ncache_read = 0\ncache_write = 0\n");
        let table = PriceTable::parse(&text, Path::new("p.toml")).unwrap();
        prop_assert_eq!(table.get("x:y").unwrap().input, u64::from(cents) * 10_000);
    }
}
