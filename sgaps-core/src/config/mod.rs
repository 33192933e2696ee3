//! Configuration: YAML groups under `conf/` composed Hydra-style into typed structs.
//!
//! ```text
//! sgaps serve model=spt_small model.embed_dim=128 sampling=uniform
//! ```
//! chooses `conf/model/spt_small.yaml`, then sets one key, then chooses another sampling
//! file. An unknown key, an unknown option or a bad value is a [`ConfigError`] naming the
//! key and the file (or override) it came from.

mod compose;
mod schema;
mod source;

use std::path::Path;

pub use schema::*;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}: {message}")]
    Io { file: String, message: String },
    #[error("{file} is not valid YAML: {message}")]
    Yaml { file: String, message: String },
    #[error("unknown key `{key}` (in {file})")]
    UnknownKey { key: String, file: String },
    #[error("bad value for `{key}` (in {file}): {message}")]
    Invalid { key: String, file: String, message: String },
    #[error("config group `{group}` has no option `{option}`; available: {}", available.join(", "))]
    UnknownOption { group: String, option: String, available: Vec<String> },
    #[error("bad override `{text}`: {message}")]
    BadOverride { text: String, message: String },
}

impl Config {
    /// Composes `conf_dir/config.yaml` with its groups and `overrides`. With `None` the
    /// copy of the repository's `conf/` built into the library is used.
    pub fn load(conf_dir: Option<&Path>, overrides: &[String]) -> Result<Config, ConfigError> {
        let source = match conf_dir {
            Some(dir) => source::ConfSource::Dir(dir.to_path_buf()),
            None => source::ConfSource::Embedded,
        };
        let composed = compose::compose(&source, overrides)?;
        let mut config: Config = serde_path_to_error::deserialize(composed.tree.clone()).map_err(|e| {
            let inner = e.inner().to_string();
            let path = e.path().to_string();
            // serde reports an unknown field at its parent's path; name the field itself.
            if let Some(field) = unknown_field_name(&inner) {
                let key = if path == "." { field } else { format!("{path}.{field}") };
                let file = composed.origin_of(&key);
                ConfigError::UnknownKey { key, file }
            } else {
                let file = composed.origin_of(&path);
                ConfigError::Invalid { key: path, file, message: inner }
            }
        })?;
        config.cleaning.balance.seed.get_or_insert(config.seed);
        config.validate().map_err(|(key, message)| {
            let file = composed.origin_of(&key);
            ConfigError::Invalid { key, file, message }
        })?;
        Ok(config)
    }

    /// Cross-field rules serde cannot express; returns the offending key.
    fn validate(&self) -> Result<(), (String, String)> {
        self.model.validate().map_err(|(k, m)| (format!("model.{k}"), m))?;
        self.cleaning.validate().map_err(|(k, m)| (format!("cleaning.{k}"), m))?;
        self.training.validate().map_err(|(k, m)| (format!("training.{k}"), m))?;
        let s = &self.sampling;
        let err = |key: &str, message: String| Err((format!("sampling.{key}"), message));
        if s.default_sample_count == 0 || s.default_sample_count > s.max_sample_count {
            return err(
                "default_sample_count",
                format!("must be in 1..={} (sampling.max_sample_count)", s.max_sample_count),
            );
        }
        if !(0.0..=1.0).contains(&s.importance_ratio) || (s.importance_ratio + s.uniform_ratio - 1.0).abs() > 1e-6 {
            return err("importance_ratio", "importance_ratio and uniform_ratio must be in [0, 1] and sum to 1".into());
        }
        Ok(())
    }
}

impl ModelConfig {
    /// Checks the shape rules of the module tree; returns the offending key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.max_state_dim <= 0 || self.resolution[0].min(self.resolution[1]) <= 0 {
            return Err(("resolution".into(), "and max_state_dim must be positive".into()));
        }
        match (self.family, &self.temporal) {
            (ModelFamily::Temporal, Some(temporal)) => return temporal.validate().map_err(|(k, m)| (format!("temporal.{k}"), m)),
            (ModelFamily::Temporal, None) => return Err(("temporal".into(), "is required for family temporal".into())),
            (ModelFamily::Spt, Some(_)) => return Err(("temporal".into(), "applies to family temporal only".into())),
            (ModelFamily::Spt, None) => {}
        }
        let positive = [
            ("embed_dim", self.embed_dim),
            ("num_heads", self.num_heads),
            ("num_encoder_layers", self.num_encoder_layers),
            ("num_decoder_layers", self.num_decoder_layers),
            ("max_state_dim", self.max_state_dim),
            ("architecture.feedforward_dim", self.architecture.feedforward_dim),
            ("resolution", self.resolution[0].min(self.resolution[1])),
        ];
        for (key, value) in positive {
            if value <= 0 {
                return Err((key.into(), format!("must be positive, got {value}")));
            }
        }
        if self.embed_dim % self.num_heads != 0 {
            return Err(("num_heads".into(), format!("must divide embed_dim ({})", self.embed_dim)));
        }
        // Sinusoidal: sin/cos of u and v per band; Gaussian-Fourier: sin/cos per feature.
        let multiple = match self.positional_encoding.kind {
            PositionalEncodingKind::Sinusoidal => 4,
            PositionalEncodingKind::GaussianFourier => 2,
        };
        if self.embed_dim % multiple != 0 {
            return Err((
                "embed_dim".into(),
                format!("must be a multiple of {multiple} for the {:?} positional encoding", self.positional_encoding.kind),
            ));
        }
        // libtorch refuses a dropout outside [0, 1] in every forward pass, training or not.
        for (key, dropout) in [("architecture.dropout", self.architecture.dropout), ("architecture.skip.dropout", self.architecture.skip.dropout)] {
            if !(0.0..1.0).contains(&dropout) {
                return Err((key.into(), format!("must be in [0, 1), got {dropout}")));
            }
        }
        Ok(())
    }

    /// `(height, width)` of the reconstruction.
    pub fn height_width(&self) -> (i64, i64) {
        (self.resolution[1], self.resolution[0])
    }
}

impl SamplingConfig {
    /// This config with the `space_time` strategy and no importance share: the plain
    /// space-time stratified pattern (the open loop of training and evaluation).
    pub fn plain_space_time(&self) -> SamplingConfig {
        SamplingConfig { strategy: SamplingStrategy::SpaceTime, importance_ratio: 0.0, uniform_ratio: 1.0, ..self.clone() }
    }
}

impl TemporalConfig {
    /// Range rules of the temporal family; returns the offending key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(c) = self.channels.iter().find(|&&c| c <= 0) {
            return Err(("channels".into(), format!("must be positive, got {c}")));
        }
        if self.state_embed_dim <= 0 || self.union_frames == 0 || self.accumulate_frames == 0 {
            return Err(("state_embed_dim".into(), "state_embed_dim, union_frames and accumulate_frames must be positive".into()));
        }
        if !(0..=32).contains(&self.max_shift) {
            return Err(("max_shift".into(), format!("must be in 0..=32, got {}", self.max_shift)));
        }
        if !(0.0..=1.0).contains(&self.contradiction_threshold) || !(0.0..=1.0).contains(&self.scene_cut_fraction) {
            return Err(("contradiction_threshold".into(), "and scene_cut_fraction must be in [0, 1]".into()));
        }
        if self.max_time_gap_s.is_nan() || self.max_time_gap_s <= 0.0 {
            return Err(("max_time_gap_s".into(), "must be positive".into()));
        }
        Ok(())
    }
}

impl TrainingConfig {
    /// Range rules of a training phase; returns the offending key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let weight = self.psnr_loss_weight;
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(("psnr_loss_weight".into(), format!("must be >= 0 (a negative weight lowers the PSNR), got {weight}")));
        }
        Ok(())
    }
}

impl CleaningConfig {
    /// Range rules of the cleaning steps; returns the offending key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let (stationarity, balance) = (&self.stationarity, &self.balance);
        if !(0.0..=1.0).contains(&stationarity.quantile) {
            return Err(("stationarity.quantile".into(), "must be in [0, 1]".into()));
        }
        if !(0.0..).contains(&stationarity.noise_floor) {
            return Err(("stationarity.noise_floor".into(), "must be >= 0".into()));
        }
        if balance.clusters == 0 {
            return Err(("balance.clusters".into(), "must be positive".into()));
        }
        if !(0.0..).contains(&balance.pixel_count_weight) {
            return Err(("balance.pixel_count_weight".into(), "must be >= 0".into()));
        }
        if !(0.0..=100.0).contains(&balance.cap_percentile) {
            return Err(("balance.cap_percentile".into(), "must be in [0, 100]".into()));
        }
        Ok(())
    }
}

fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}

#[cfg(test)]
mod tests;
