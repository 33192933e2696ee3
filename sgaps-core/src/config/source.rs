//! Where config files come from: a `conf/` directory on disk, or the copy of the
//! repository's `conf/` compiled into the library so every binary runs with no files.

use std::path::PathBuf;

use super::ConfigError;

/// The repository's `conf/` tree, embedded at build time.
const EMBEDDED: &[(&str, &str)] = &[
    ("config.yaml", include_str!("../../../conf/config.yaml")),
    ("model/spt.yaml", include_str!("../../../conf/model/spt.yaml")),
    ("model/spt_small.yaml", include_str!("../../../conf/model/spt_small.yaml")),
    ("model/spt_cpu.yaml", include_str!("../../../conf/model/spt_cpu.yaml")),
    ("model/temporal.yaml", include_str!("../../../conf/model/temporal.yaml")),
    ("training/phase1.yaml", include_str!("../../../conf/training/phase1.yaml")),
    ("training/phase2.yaml", include_str!("../../../conf/training/phase2.yaml")),
    ("training/phase3.yaml", include_str!("../../../conf/training/phase3.yaml")),
    ("training/temporal.yaml", include_str!("../../../conf/training/temporal.yaml")),
    ("sampling/uniform.yaml", include_str!("../../../conf/sampling/uniform.yaml")),
    ("sampling/adaptive.yaml", include_str!("../../../conf/sampling/adaptive.yaml")),
    ("sampling/hybrid.yaml", include_str!("../../../conf/sampling/hybrid.yaml")),
    ("sampling/space_time.yaml", include_str!("../../../conf/sampling/space_time.yaml")),
    ("mask_update/fixed.yaml", include_str!("../../../conf/mask_update/fixed.yaml")),
    ("mask_update/adaptive.yaml", include_str!("../../../conf/mask_update/adaptive.yaml")),
    ("mask_update/quality_based.yaml", include_str!("../../../conf/mask_update/quality_based.yaml")),
    ("mask_update/every_frame.yaml", include_str!("../../../conf/mask_update/every_frame.yaml")),
    ("server/base.yaml", include_str!("../../../conf/server/base.yaml")),
    ("cleaning/default.yaml", include_str!("../../../conf/cleaning/default.yaml")),
];

pub(crate) enum ConfSource {
    Dir(PathBuf),
    Embedded,
}

impl ConfSource {
    /// How `path` (relative, `/`-separated) is named in error messages.
    pub fn display(&self, path: &str) -> String {
        match self {
            ConfSource::Dir(dir) => dir.join(path).display().to_string(),
            ConfSource::Embedded => format!("<embedded conf>/{path}"),
        }
    }

    pub fn exists(&self, path: &str) -> bool {
        match self {
            ConfSource::Dir(dir) => dir.join(path).is_file(),
            ConfSource::Embedded => EMBEDDED.iter().any(|(p, _)| *p == path),
        }
    }

    pub fn read(&self, path: &str) -> Result<String, ConfigError> {
        match self {
            ConfSource::Dir(dir) => std::fs::read_to_string(dir.join(path))
                .map_err(|e| ConfigError::Io { file: self.display(path), message: e.to_string() }),
            ConfSource::Embedded => EMBEDDED
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, text)| text.to_string())
                .ok_or_else(|| ConfigError::Io { file: self.display(path), message: "no such file".into() }),
        }
    }

    /// The options of a config group (file stems under `group/`), sorted.
    pub fn options(&self, group: &str) -> Vec<String> {
        let mut options: Vec<String> = match self {
            ConfSource::Dir(dir) => std::fs::read_dir(dir.join(group))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| {
                    let name = entry.file_name().into_string().ok()?;
                    name.strip_suffix(".yaml").map(str::to_string)
                })
                .collect(),
            ConfSource::Embedded => EMBEDDED
                .iter()
                .filter_map(|(p, _)| p.strip_prefix(group)?.strip_prefix('/')?.strip_suffix(".yaml"))
                .map(str::to_string)
                .collect(),
        };
        options.sort();
        options
    }
}
