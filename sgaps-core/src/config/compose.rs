//! Hydra-style composition: `config.yaml` names one option per group in its `defaults`
//! list; each chosen `GROUP/OPTION.yaml` is placed under the key `GROUP`; the primary
//! file's own keys apply where `_self_` stands; then command-line overrides apply,
//! `group=option` choosing another file and `a.b.c=value` setting one value.
//!
//! Every value remembers the file (or override) that set it last, so an error about a
//! key names where that key came from.

use std::collections::BTreeMap;

use serde_yaml_ng::{Mapping, Value};

use super::source::ConfSource;
use super::ConfigError;

/// A composed YAML tree plus the origin of each dotted key path.
pub(crate) struct Composed {
    pub tree: Value,
    origins: BTreeMap<String, String>,
}

impl Composed {
    /// Where `path` (dotted) was set: the nearest ancestor with a recorded origin.
    pub fn origin_of(&self, path: &str) -> String {
        let mut key = path.to_string();
        loop {
            if let Some(origin) = self.origins.get(&key) {
                return origin.clone();
            }
            match key.rfind('.') {
                Some(cut) => key.truncate(cut),
                None => return self.origins.get("").cloned().unwrap_or_default(),
            }
        }
    }
}

/// One parsed command-line override.
enum Override {
    /// `group=option`: choose another file of a config group.
    Group { group: String, option: String },
    /// `a.b.c=value`: replace an existing value.
    Set { path: Vec<String>, value: Value },
}

pub(crate) fn compose(source: &ConfSource, overrides: &[String]) -> Result<Composed, ConfigError> {
    let primary_path = "config.yaml";
    let mut primary = read_yaml(source, primary_path)?;
    let defaults = take_defaults(&mut primary, &source.display(primary_path))?;

    let parsed: Vec<(String, Override)> = overrides
        .iter()
        .map(|raw| parse_override(raw, source).map(|o| (raw.clone(), o)))
        .collect::<Result<_, _>>()?;

    let mut composed = Composed { tree: Value::Mapping(Mapping::new()), origins: BTreeMap::new() };
    composed.origins.insert(String::new(), source.display(primary_path));
    for entry in &defaults {
        match entry {
            DefaultsEntry::SelfKeys => {
                merge(&mut composed, &[], primary.clone(), &source.display(primary_path));
            }
            DefaultsEntry::Group { group, option } => {
                // A `group=option` override replaces the option from the defaults list.
                let option = parsed
                    .iter()
                    .rev()
                    .find_map(|(_, o)| match o {
                        Override::Group { group: g, option } if g == group => Some(option.as_str()),
                        _ => None,
                    })
                    .unwrap_or(option);
                let path = format!("{group}/{option}.yaml");
                if !source.exists(&path) {
                    return Err(ConfigError::UnknownOption {
                        group: group.clone(),
                        option: option.to_string(),
                        available: source.options(group),
                    });
                }
                let value = read_yaml(source, &path)?;
                merge(&mut composed, std::slice::from_ref(group), value, &source.display(&path));
            }
        }
    }
    for (raw, o) in parsed {
        if let Override::Set { path, value } = o {
            set_existing(&mut composed, &path, value, &raw)?;
        }
    }
    Ok(composed)
}

enum DefaultsEntry {
    SelfKeys,
    Group { group: String, option: String },
}

/// Removes and parses the `defaults` list of the primary file. Without `_self_` the
/// primary keys apply last, as in Hydra 1.1+.
fn take_defaults(primary: &mut Value, file: &str) -> Result<Vec<DefaultsEntry>, ConfigError> {
    let bad = |message: String| ConfigError::Invalid { key: "defaults".into(), file: file.to_string(), message };
    let Some(map) = primary.as_mapping_mut() else {
        return Err(bad("the primary config must be a mapping".into()));
    };
    let list = match map.remove("defaults") {
        None => Vec::new(),
        Some(Value::Sequence(list)) => list,
        Some(_) => return Err(bad("`defaults` must be a list".into())),
    };
    let mut entries = Vec::new();
    for item in list {
        match item {
            Value::String(s) if s == "_self_" => entries.push(DefaultsEntry::SelfKeys),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, v) = m.into_iter().next().expect("one entry");
                match (k, v) {
                    (Value::String(group), Value::String(option)) => {
                        entries.push(DefaultsEntry::Group { group, option })
                    }
                    _ => return Err(bad("each entry must be `group: option`".into())),
                }
            }
            _ => return Err(bad("each entry must be `group: option` or `_self_`".into())),
        }
    }
    if !entries.iter().any(|e| matches!(e, DefaultsEntry::SelfKeys)) {
        entries.push(DefaultsEntry::SelfKeys);
    }
    Ok(entries)
}

fn parse_override(raw: &str, source: &ConfSource) -> Result<Override, ConfigError> {
    let bad = |message: &str| ConfigError::BadOverride { text: raw.to_string(), message: message.to_string() };
    let (key, value) = raw.split_once('=').ok_or_else(|| bad("expected KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(bad("the key is empty"));
    }
    if !key.contains('.') && !source.options(key).is_empty() {
        return Ok(Override::Group { group: key.to_string(), option: value.trim().to_string() });
    }
    // The value is YAML, so `x=3` is a number, `x=[112,112]` a list and `x=null` null.
    let value: Value = if value.trim().is_empty() {
        Value::String(String::new())
    } else {
        serde_yaml_ng::from_str(value).map_err(|e| bad(&format!("the value is not valid YAML: {e}")))?
    };
    Ok(Override::Set { path: key.split('.').map(str::to_string).collect(), value })
}

/// Deep-merges `value` into the tree at `prefix`, recording `origin` for every key set.
fn merge(composed: &mut Composed, prefix: &[String], value: Value, origin: &str) {
    composed.origins.insert(prefix.join("."), origin.to_string());
    let Value::Mapping(incoming) = value else {
        *node_mut(&mut composed.tree, prefix) = value;
        return;
    };
    let target = node_mut(&mut composed.tree, prefix);
    if !target.is_mapping() {
        *target = Value::Mapping(Mapping::new());
    }
    for (k, v) in incoming {
        let Value::String(k) = k else { continue };
        let mut path = prefix.to_vec();
        path.push(k);
        merge(composed, &path, v, origin);
    }
}

fn node_mut<'a>(root: &'a mut Value, path: &[String]) -> &'a mut Value {
    let mut node = root;
    for key in path {
        if !node.is_mapping() {
            *node = Value::Mapping(Mapping::new());
        }
        let map = node.as_mapping_mut().expect("just made a mapping");
        node = map.entry(Value::String(key.clone())).or_insert(Value::Null);
    }
    node
}

/// Applies `a.b.c=value`; like Hydra, the key must already exist.
fn set_existing(composed: &mut Composed, path: &[String], value: Value, raw: &str) -> Result<(), ConfigError> {
    let mut node = &composed.tree;
    for key in path {
        node = node.as_mapping().and_then(|m| m.get(key.as_str())).ok_or_else(|| ConfigError::UnknownKey {
            key: path.join("."),
            file: format!("command-line override `{raw}`"),
        })?;
    }
    *node_mut(&mut composed.tree, path) = value;
    composed.origins.insert(path.join("."), format!("command-line override `{raw}`"));
    Ok(())
}

fn read_yaml(source: &ConfSource, path: &str) -> Result<Value, ConfigError> {
    let text = source.read(path)?;
    let value: Value = serde_yaml_ng::from_str(&text)
        .map_err(|e| ConfigError::Yaml { file: source.display(path), message: e.to_string() })?;
    Ok(if value.is_null() { Value::Mapping(Mapping::new()) } else { value })
}
