//! Fuzzing configuration overrides (`a.b=c` on every command line and in the C ABI's
//! engine options) through `Config::load(None, overrides)`: arbitrary text, real keys
//! with hostile YAML values, and real keys set to their own values. Loading must never
//! panic, an error must name the key or override at fault, and setting any key to
//! the value it already has must change nothing. 1,000 cases per property by default;
//! `PROPTEST_CASES=N` for a long run (docs/fuzzing.md).

use std::sync::OnceLock;

use proptest::prelude::*;
use sgaps_core::Config;

const GROUPS: &[&str] = &["model", "training", "sampling", "mask_update", "server", "cleaning"];

/// Every key path of the default configuration with its value as JSON (valid YAML).
fn default_keys() -> &'static Vec<(String, serde_json::Value)> {
    static KEYS: OnceLock<Vec<(String, serde_json::Value)>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let tree = serde_json::to_value(Config::load(None, &[]).expect("the default configuration loads")).unwrap();
        let mut keys = Vec::new();
        collect_keys(&tree, String::new(), &mut keys);
        keys
    })
}

fn collect_keys(value: &serde_json::Value, path: String, out: &mut Vec<(String, serde_json::Value)>) {
    if let serde_json::Value::Object(map) = value {
        for (key, child) in map {
            let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            collect_keys(child, child_path, out);
        }
    }
    if !path.is_empty() {
        out.push((path, value.clone()));
    }
}

fn real_key() -> impl Strategy<Value = String> {
    (0..default_keys().len()).prop_map(|i| default_keys()[i].0.clone())
}

/// Keys as a user might mistype them: real ones, groups, made-up dotted paths, odd
/// separators and whitespace.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => real_key(),
        1 => prop::sample::select(GROUPS).prop_map(str::to_string),
        1 => "[a-z_]{1,8}(\\.[a-z_]{1,8}){0,3}",
        1 => "[ .a-z_\\[\\]0-9]{0,12}",
        1 => "\\PC{0,12}",
    ]
}

/// YAML values of every kind, including the ones that break naive parsers.
fn value() -> impl Strategy<Value = String> {
    let numbers = prop_oneof![
        any::<i64>().prop_map(|x| x.to_string()),
        any::<u64>().prop_map(|x| x.to_string()),
        any::<f64>().prop_map(|x| x.to_string()),
        Just("1e400".to_string()),
        Just("-0".to_string()),
    ];
    let specials = prop::sample::select(vec![
        "", "~", "null", "true", "no", ".nan", ".inf", "-.inf", "[]", "{}", "[1]", "[0, 0]", "[-1, 5]",
        "[112, 112, 3]", "{a: 1}", "&a [*a]", "!!binary aGk=", "'unterminated", "[", "{", ": :", "- x",
        "cpu", "cuda", "auto", "temporal", "spt", "float16", "hybrid", "grid", "phase1", "\"\\u0000\"",
    ])
    .prop_map(str::to_string);
    let nested = (1usize..200).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
    prop_oneof![3 => numbers, 3 => specials, 1 => nested, 2 => "\\PC{0,24}"]
}

fn override_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (key(), value()).prop_map(|(k, v)| format!("{k}={v}")),
        1 => "\\PC{0,40}",
    ]
}

/// What an error about `text` must mention: the override's key (its first segment
/// suffices: a rule may name a sibling key, e.g. `sampling.max_sample_count` below
/// `sampling.default_sample_count`) or the override itself.
fn names_the_override(message: &str, text: &str) -> bool {
    let key = text.split_once('=').map_or(text, |(k, _)| k).trim();
    let first = key.split('.').next().unwrap_or(key);
    message.contains(text) || (!first.is_empty() && message.contains(first))
}

/// `PROPTEST_CASES` when set (a long run); otherwise 1000 cases per property, a second or
/// two in the test suite.
fn cases() -> ProptestConfig {
    let short_run = ProptestConfig { cases: 1000, ..ProptestConfig::default() };
    if std::env::var_os("PROPTEST_CASES").is_some() { ProptestConfig::default() } else { short_run }
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn one_override_loads_or_names_what_is_wrong(text in override_text()) {
        if let Err(e) = Config::load(None, std::slice::from_ref(&text)) {
            let message = e.to_string();
            prop_assert!(names_the_override(&message, &text), "`{text}` failed with: {message}");
        }
    }

    #[test]
    fn several_overrides_never_panic(texts in prop::collection::vec(override_text(), 0..5)) {
        let _ = Config::load(None, &texts);
    }
}

/// Not random: every key of the default configuration, each set to the value it has.
#[test]
fn every_key_set_to_its_own_value_changes_nothing() {
    let defaults = Config::load(None, &[]).unwrap();
    let mut applied = 0;
    for (key, value) in default_keys().iter().filter(|(key, _)| !GROUPS.contains(&key.as_str())) {
        let text = format!("{key}={value}"); // `model=...` would choose a file
        match Config::load(None, std::slice::from_ref(&text)) {
            Ok(config) => {
                assert_eq!(config, defaults, "{text}");
                applied += 1;
            }
            // A key the YAML files leave to its serde default cannot be overridden (Hydra's rule).
            Err(e) => assert!(e.to_string().starts_with(&format!("unknown key `{key}`")), "`{text}`: {e}"),
        }
    }
    // Most keys are in the YAML files (96 of 115 today): the loop above really ran.
    assert!(applied * 4 >= default_keys().len() * 3, "only {applied} of {} keys could be set", default_keys().len());
}

/// Found by sgaps-ffi/tests/fuzz_engine_options.rs: this value loaded, then libtorch
/// refused every forward pass ("dropout probability has to be between 0 and 1").
#[test]
fn regression_skip_dropout_outside_the_unit_interval_is_refused() {
    for value in ["2", "1.0", "-0.5", ".nan"] {
        let text = format!("model.architecture.skip.dropout={value}");
        let e = Config::load(None, &["model=spt_small".to_string(), text.clone()]).unwrap_err();
        assert!(e.to_string().starts_with("bad value for `model.architecture.skip.dropout`"), "{text}: {e}");
    }
    assert!(Config::load(None, &["model=spt_small".into(), "model.architecture.skip.dropout=0.5".into()]).is_ok());
}
