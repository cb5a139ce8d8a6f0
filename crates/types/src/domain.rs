//! Domain values that parse user input: once a value of one of these types exists, it is valid. The web app
//! uses the same parsers to check a form before sending it.

use crate::FieldError;
use serde::{Deserialize, Serialize};

/// The longest email address SMTP allows.
pub const EMAIL_MAX: usize = 254;
/// Password length bounds (characters).
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 128;
/// The longest person or organization name (characters).
pub const NAME_MAX: usize = 100;

/// A normalized email address: trimmed and lower-cased, so that uniqueness is case-insensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Parses and normalizes an address for the field named `field`.
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_lowercase();
        let invalid = |msg: &str| FieldError::new(field, "invalid_email", msg);
        if s.is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty"));
        }
        if s.chars().count() > EMAIL_MAX {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("must be at most {EMAIL_MAX} characters"),
            ));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(invalid("must be an email address like name@example.com"));
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local
                .chars()
                .all(|c| !c.is_whitespace() && !c.is_control() && c != ',' && c != '<' && c != '>');
        if !domain_ok || !local_ok {
            return Err(invalid("must be an email address like name@example.com"));
        }
        Ok(Self(s))
    }

    /// Parses the `email` field.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_field("email", raw)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the length rules. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
        let n = raw.chars().count();
        if n < PASSWORD_MIN {
            return Err(FieldError::new(
                field,
                "too_short",
                format!("must be at least {PASSWORD_MIN} characters"),
            ));
        }
        if n > PASSWORD_MAX {
            return Err(FieldError::new(
                field,
                "too_long",
                format!("must be at most {PASSWORD_MAX} characters"),
            ));
        }
        if raw.trim().is_empty() {
            return Err(FieldError::new(field, "invalid", "must not be only spaces"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_field("password", raw)
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// `raw` trimmed, if it is 1 to `max` characters without control characters: the rule of every name.
fn bounded_name(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(FieldError::new(field, "required", "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("must be at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "invalid",
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

/// A display name (person or organization): trimmed, 1 to [`NAME_MAX`] characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
        bounded_name(field, raw, NAME_MAX).map(Self)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The URL-friendly base of an organization's slug: lower-case ASCII letters, digits and single dashes.
/// The backend appends a suffix when the base is taken.
#[must_use]
pub fn slug_base(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "org".to_owned()
    } else {
        out
    }
}

/// An API key or token of another service: trimmed, 8 to 256 characters, no spaces or control characters.
/// Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(String);

impl ApiSecret {
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "required", "must not be empty"));
        }
        if !(8..=256).contains(&s.chars().count()) {
            return Err(FieldError::new(
                field,
                "invalid",
                "must be 8 to 256 characters: paste the whole key",
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(
                field,
                "invalid",
                "must not contain spaces or line breaks: paste the key alone",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiSecret(<redacted>)")
    }
}

/// Minutes between incremental syncs: 1 to 1440 (a day).
pub fn sync_interval(field: &str, minutes: u32) -> Result<u32, FieldError> {
    if (1..=1440).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(FieldError::new(
            field,
            "out_of_range",
            "must be between 1 and 1440 minutes",
        ))
    }
}

/// Checks what to import from PagerDuty; `at` is the field path of the options (e.g. `options`).
pub fn check_pagerduty_options(
    at: &str,
    o: &crate::api::PagerDutyOptions,
    now: chrono::DateTime<chrono::Utc>,
    errors: &mut FieldErrors,
) {
    check_since(at, o.since, now, errors);
    if let Some(email) = &o.note_author_email {
        errors.check(Email::parse_field(
            &format!("{at}.note_author_email"),
            email,
        ));
    }
    for (name, ids) in [("service_ids", &o.service_ids), ("team_ids", &o.team_ids)] {
        if ids.len() > 100 {
            errors.push(FieldError::new(
                format!("{at}.{name}"),
                "too_long",
                "at most 100 ids",
            ));
        }
        for (i, id) in ids.iter().enumerate() {
            let ok = (2..=20).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric());
            if !ok {
                errors.push(FieldError::new(
                    format!("{at}.{name}[{i}]"),
                    "invalid",
                    "must be a PagerDuty id such as PIJ90N7 (letters and digits)",
                ));
            }
        }
    }
}

/// Checks what to import from Opsgenie.
pub fn check_opsgenie_options(
    at: &str,
    o: &crate::api::OpsgenieOptions,
    now: chrono::DateTime<chrono::Utc>,
    errors: &mut FieldErrors,
) {
    check_since(at, o.since, now, errors);
    if let Some(q) = &o.query
        && (q.chars().count() > 1000 || q.chars().any(char::is_control))
    {
        errors.push(FieldError::new(
            format!("{at}.query"),
            "invalid",
            "must be at most 1000 characters on one line",
        ));
    }
}

fn check_since(
    at: &str,
    since: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
    errors: &mut FieldErrors,
) {
    if since.is_some_and(|s| s > now) {
        errors.push(FieldError::new(
            format!("{at}.since"),
            "in_future",
            "must not be in the future",
        ));
    }
}

/// Collects field errors while parsing a request body, so that one response names every invalid field.
#[derive(Default, Debug)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value, or records the error and returns `None`.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// `Ok(())` when nothing was recorded.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// `next` when it is a path of this site to go to after signing in, else `None`. Browsers ignore tabs and
/// line breaks in URLs and read `\` as `/`, so `/\evil.com`, `/\t/evil.com` and `//evil.com` all lead
/// elsewhere: only a single leading `/` followed by something that cannot start an authority is accepted.
#[must_use]
pub fn local_redirect(next: &str) -> Option<&str> {
    let rest = next.strip_prefix('/')?;
    let clean = !next.chars().any(|c| c.is_control() || c == '\\');
    (clean && !rest.starts_with('/')).then_some(next)
}

/// The most characters a pattern's name has (the `patterns_name_check` constraint).
pub const PATTERN_NAME_MAX: usize = 200;

/// A person's name for a recurring pattern: trimmed, 1 to [`PATTERN_NAME_MAX`] characters, no control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatternName(String);

impl PatternName {
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
        bounded_name(field, raw, PATTERN_NAME_MAX).map(Self)
    }

    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_pagerduty_note_author_must_be_an_email_address() {
        use super::{FieldErrors, check_pagerduty_options};
        let check = |email: Option<&str>| {
            let o = crate::api::PagerDutyOptions {
                note_author_email: email.map(str::to_owned),
                ..Default::default()
            };
            let mut errors = FieldErrors::default();
            check_pagerduty_options("options", &o, chrono::Utc::now(), &mut errors);
            errors.finish()
        };
        assert!(check(None).is_ok());
        assert!(check(Some("oncall@example.com")).is_ok());
        let errors = check(Some("not an email")).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "options.note_author_email");
        assert_eq!(errors[0].code, "invalid_email");
    }

    #[test]
    fn pattern_names_are_trimmed_and_bounded() {
        use super::{PATTERN_NAME_MAX, PatternName};
        assert_eq!(
            PatternName::parse_field("name", "  Disk full  ")
                .unwrap()
                .into_inner(),
            "Disk full"
        );
        assert_eq!(
            PatternName::parse_field("name", " \t ").unwrap_err().code,
            "required"
        );
        let long = "é".repeat(PATTERN_NAME_MAX);
        assert!(PatternName::parse_field("name", &long).is_ok());
        let e = PatternName::parse_field("name", &format!("{long}x")).unwrap_err();
        assert_eq!((e.field.as_str(), e.code.as_str()), ("name", "too_long"));
        assert_eq!(
            PatternName::parse_field("name", "a\u{7}b")
                .unwrap_err()
                .code,
            "invalid"
        );
    }

    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused_with_a_field_error() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "ada@ex..com",
            "ada@.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert_eq!(err.field, "email", "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err().code, "too_long");
    }

    #[test]
    fn passwords_must_be_12_to_128_characters() {
        assert_eq!(Password::parse("short").unwrap_err().code, "too_short");
        assert!(Password::parse("twelve chars").is_ok());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert_eq!(
            Password::parse(&"x".repeat(129)).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            Password::parse(&" ".repeat(20)).unwrap_err().code,
            "invalid"
        );
        // Characters, not bytes: 12 multi-byte characters are enough.
        assert!(Password::parse(&"é".repeat(12)).is_ok());
    }

    #[test]
    fn password_debug_is_redacted() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(
            Name::parse_field("name", "  Ada  ").unwrap().as_str(),
            "Ada"
        );
        assert_eq!(
            Name::parse_field("name", "   ").unwrap_err().code,
            "required"
        );
        assert_eq!(
            Name::parse_field("name", &"a".repeat(101))
                .unwrap_err()
                .code,
            "too_long"
        );
        assert_eq!(
            Name::parse_field("name", "a\u{0}b").unwrap_err().code,
            "invalid"
        );
    }

    #[test]
    fn slugs_are_url_friendly() {
        assert_eq!(slug_base("Acme Corp — SRE!"), "acme-corp-sre");
        assert_eq!(slug_base("!!!"), "org");
        assert_eq!(slug_base("Ünïcode Team"), "n-code-team");
    }

    #[test]
    fn only_paths_of_this_site_are_redirect_targets() {
        for ok in [
            "/",
            "/incidents",
            "/orgs/x/settings?tab=members#top",
            "/a//b",
        ] {
            assert_eq!(local_redirect(ok), Some(ok), "{ok}");
        }
        for bad in [
            "//evil.com",
            "/\\evil.com",
            "/\t/evil.com",
            "/\n/evil.com",
            "\\\\evil.com",
            "https://evil.com",
            "evil.com",
            "",
            "/%09/evil.com\r",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_redirect(bad), None, "{bad:?}");
        }
    }
}
