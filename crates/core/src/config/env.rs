//! The one variable reader every section loads through, so blank values, `_FILE` variants, defaults and
//! error messages behave the same in every section.

use super::ConfigError;
use super::strength;
use std::time::Duration;
use url::Url;

/// One environment variable a section reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    /// A secret: may instead be given as a file, `NAME_FILE=/path` (Kubernetes secrets mounted as files).
    pub file: bool,
}

impl Var {
    #[must_use]
    pub const fn new(name: &'static str) -> Self {
        Var { name, file: false }
    }

    /// A variable that may also be given as a file (`NAME_FILE`).
    #[must_use]
    pub const fn secret(name: &'static str) -> Self {
        Var { name, file: true }
    }

    pub(crate) fn err(self, reason: impl Into<String>) -> ConfigError {
        ConfigError {
            name: self.name,
            reason: reason.into(),
        }
    }
}

type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// Reads settings by name: from the process environment, or through any lookup (tests pass a map).
pub struct Env<'a> {
    lookup: Lookup<'a>,
}

impl<'a> Env<'a> {
    #[must_use]
    pub fn new(lookup: impl Fn(&str) -> Option<String> + 'a) -> Self {
        Env {
            lookup: Box::new(lookup),
        }
    }

    /// The process environment.
    #[must_use]
    pub fn process() -> Env<'static> {
        Env::new(|k| std::env::var(k).ok())
    }

    /// The variable's value, or `None` when unset or blank; a secret falls back to its `_FILE` variant
    /// (whose content is trimmed).
    /// A secret that still holds an example placeholder (`CHANGE-ME`, see [`strength::is_example`]) is
    /// refused.
    pub fn value(&self, var: Var) -> Result<Option<String>, ConfigError> {
        let value = self.raw_value(var)?;
        if var.file && value.as_deref().is_some_and(strength::is_example) {
            return Err(var.err(
                "holds the example value from k8s/secret.example.yaml: set a real secret (see docs/configuration.md)",
            ));
        }
        Ok(value)
    }

    fn raw_value(&self, var: Var) -> Result<Option<String>, ConfigError> {
        let get = |k: &str| (self.lookup)(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = get(var.name) {
            return Ok(Some(v));
        }
        if !var.file {
            return Ok(None);
        }
        let file_var = format!("{}_FILE", var.name);
        match get(&file_var) {
            Some(path) => std::fs::read_to_string(&path)
                .map(|s| Some(s.trim().to_owned()))
                .map_err(|e| var.err(format!("cannot read {file_var}={path}: {e}"))),
            None => Ok(None),
        }
    }

    /// The value, or an error that says it is required.
    pub fn required(&self, var: Var) -> Result<String, ConfigError> {
        self.value(var)?.ok_or_else(|| var.err("is required"))
    }

    /// The value, which must start with one of `schemes` (`postgres`, …) followed by `://`.
    pub fn required_url(&self, var: Var, schemes: &[&str]) -> Result<String, ConfigError> {
        let url = self.required(var)?;
        check_scheme(var, &url, schemes)?;
        Ok(url)
    }

    /// The value, or `default` when unset.
    pub fn string(&self, var: Var, default: &str) -> Result<String, ConfigError> {
        Ok(self.value(var)?.unwrap_or_else(|| default.to_owned()))
    }

    /// The value (or `default`) when `allowed` accepts each of its characters; `which` names those it
    /// accepts, for the error.
    pub fn word(
        &self,
        var: Var,
        default: &str,
        allowed: impl Fn(char) -> bool,
        which: &str,
    ) -> Result<String, ConfigError> {
        let word = self.string(var, default)?;
        if !word.chars().all(allowed) {
            return Err(var.err(format!("may hold only {which}")));
        }
        Ok(word)
    }

    /// The value parsed, or `default` when unset.
    pub fn parse<T>(&self, var: Var, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.value(var)? {
            None => Ok(default),
            Some(s) => s
                .trim()
                .parse()
                .map_err(|e| var.err(format!("cannot parse {s:?}: {e}"))),
        }
    }

    /// A whole number greater than 0.
    pub fn positive(&self, var: Var, default: u32) -> Result<u32, ConfigError> {
        let n = self.parse(var, default)?;
        if n == 0 {
            return Err(var.err("must be greater than 0"));
        }
        Ok(n)
    }

    /// A duration in whole seconds, greater than 0.
    pub fn secs(&self, var: Var, default: u64) -> Result<Duration, ConfigError> {
        let n: u64 = self.parse(var, default)?;
        if n == 0 {
            return Err(var.err("must be greater than 0"));
        }
        Ok(Duration::from_secs(n))
    }

    /// A duration in milliseconds, greater than 0.
    pub fn millis(&self, var: Var, default: u32) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(u64::from(
            self.positive(var, default)?,
        )))
    }

    /// An `http://` or `https://` URL with a host, when set.
    pub fn http_url(&self, var: Var) -> Result<Option<Url>, ConfigError> {
        let Some(raw) = self.value(var)? else {
            return Ok(None);
        };
        Ok(Some(http_url(var, &raw)?))
    }
}

/// `raw` as an `http://` or `https://` URL with a host.
pub(crate) fn http_url(var: Var, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| var.err(format!("{e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(var.err("must be an http:// or https:// URL with a host"));
    }
    Ok(url)
}

/// Checks that `value` starts with one of `schemes` (`postgres`, …) followed by `://`.
pub(crate) fn check_scheme(var: Var, value: &str, schemes: &[&str]) -> Result<(), ConfigError> {
    if schemes
        .iter()
        .any(|s| value.strip_prefix(s).is_some_and(|r| r.starts_with("://")))
    {
        return Ok(());
    }
    let listed: Vec<String> = schemes.iter().map(|s| format!("{s}://")).collect();
    Err(var.err(format!("must start with {}", listed.join(" or "))))
}
